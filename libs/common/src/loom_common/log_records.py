"""Turning loguru records into the flat dicts that go to stdout (JSON) and to the logs service."""

from __future__ import annotations

import socket
import traceback
from datetime import UTC
from typing import Any

from loom_common.scrubbing import scrub_text

HOSTNAME = socket.gethostname()

# loguru's standard levels and the numbers that order them.
LEVEL_NUMBERS: dict[str, int] = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "SUCCESS": 25,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
}

# Keys that loguru's ``extra`` always holds; everything else a caller bound is a structured field.
_RESERVED_EXTRA = frozenset({"service", "env", "request_id"})


def format_exception(record: Any) -> str | None:
    exception = record["exception"]
    if exception is None or exception.type is None:
        return None
    text = "".join(traceback.format_exception(exception.type, exception.value, exception.traceback))
    return scrub_text(text)


def record_to_dict(record: Any) -> dict[str, Any]:
    """One log record in the shape of the ``logs.ingest`` contract."""
    extra = record["extra"]
    fields = {key: value for key, value in extra.items() if key not in _RESERVED_EXTRA}
    return {
        "time": record["time"].astimezone(UTC).isoformat(),
        "level": record["level"].name,
        "message": record["message"],
        "service": extra.get("service"),
        "env": extra.get("env"),
        "host": HOSTNAME,
        "logger": record["name"],
        "function": record["function"],
        "line": record["line"],
        "process": record["process"].id,
        "thread": record["thread"].name,
        "request_id": extra.get("request_id"),
        "exception": format_exception(record),
        "fields": fields,
    }
