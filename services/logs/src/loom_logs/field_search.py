"""``field=name=value``: a structured field (stored as a JSON object in ``fields``) equal to a value.

The value is compared as text, so ``order.id=7`` finds ``{"order.id": 7}`` and ``{"order.id":
"7"}`` alike. Names are checked by the API (letters, digits, ``_ . -``), and quoted in the JSON
path so a dotted name is one key (nested extras are stored flattened to dotted names).
On PostgreSQL the text column is cast to jsonb: a scan, fine beside the other filters, which
narrow first.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, cast, func
from sqlalchemy.dialects.postgresql import JSONB

from loom_logs.models import LogRecord


def field_equals(name: str, value: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        extracted = func.json_extract(LogRecord.fields, f'$."{name}"')
        return cast(extracted, String) == value
    return cast(LogRecord.fields, JSONB)[name].astext == value
