"""How the operator pages show a record's values (Jinja filters; autoescaping still applies)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask


def shown_time(moment: datetime) -> str:
    """UTC to the millisecond, the way operators compare lines across services."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def field_text(value: Any) -> str:
    """Strings as they are; anything else as JSON, so 7 and "7" can be told apart."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def first_line(message: str) -> str:
    return message.split("\n", 1)[0]


def init_app(app: Flask) -> None:
    app.add_template_filter(shown_time)
    app.add_template_filter(field_text)
    app.add_template_filter(first_line)
