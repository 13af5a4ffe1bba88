"""``field=name=value``: a structured field (stored as a JSON object in ``fields``) equal to a value.

The value is compared as text, so ``order.id=7`` finds ``{"order.id": 7}`` and ``{"order.id":
"7"}`` alike. Names are checked by the API (letters, digits, ``_ . -``), and quoted in the JSON
path so a dotted name is one key (nested extras are stored flattened to dotted names).
On PostgreSQL ``fields`` is ``jsonb`` with a GIN index (``jsonb_path_ops``), which answers
containment (``@>``): the value is looked for as a string and, when it reads as a JSON number,
boolean or null, as that too.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import ColumnElement, String, Table, cast, func, literal, or_

from loom_logs.models import CastOnPostgresql


def _as_json_values(value: str) -> list[Any]:
    candidates: list[Any] = [value]
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return candidates
    if parsed is None or isinstance(parsed, bool | int | float):
        candidates.append(parsed)
    return candidates


def field_equals(table: Table, name: str, value: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        extracted = func.json_extract(table.c.fields, f'$."{name}"')
        return cast(extracted, String) == value
    return or_(
        *(
            table.c.fields.op("@>", is_comparison=True)(
                CastOnPostgresql(literal(orjson.dumps({name: candidate}).decode()), "jsonb")
            )
            for candidate in _as_json_values(value)
        )
    )
