"""GELF 1.0 / 1.1 messages turned into records of the ``logs.ingest`` contract.

Mandatory: ``host`` and ``short_message`` (``version``, when given, must be 1.0 or 1.1).
``timestamp`` is seconds since the epoch (now when absent); ``level`` a syslog number.
``full_message`` (a traceback, for graypy) becomes the record's exception text. The fields
deprecated in 1.1 (``facility``, ``line``, ``file``) are still read. Additional fields
(``_name``) go to the record's fields, nested objects flattened to dotted names; the few that
Loom's own records carry as columns (``_service``, ``_request_id``, ``_logger_name`` and the
debugging fields graypy adds) fill those columns instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from loom_logs.ingest.flatten import flatten_fields
from loom_logs.store.records import RecordRejected

GELF_VERSIONS = frozenset({"1.0", "1.1"})

# Syslog severities (RFC 5424) to Loom's levels; "notice" has no level of its own.
SYSLOG_LEVELS = {
    0: "CRITICAL",  # emergency
    1: "CRITICAL",  # alert
    2: "CRITICAL",  # critical
    3: "ERROR",
    4: "WARNING",
    5: "INFO",  # notice
    6: "INFO",
    7: "DEBUG",
}

# Additional fields that name one of the record's own columns.
_COLUMN_FIELDS = {
    "_service": "service",
    "_env": "env",
    "_request_id": "request_id",
    "_logger_name": "logger",
    "_logger": "logger",
    "_function": "function",
    "_thread_name": "thread",
    "_pid": "process",
    "_line": "line",
}
_INTEGER_COLUMNS = frozenset({"process", "line"})
_IGNORED = frozenset({"_id"})  # reserved by the GELF spec


def _level(value: Any) -> str:
    if value is None:
        return "INFO"
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in SYSLOG_LEVELS:
        raise RecordRejected("invalid_level", "level must be a syslog number 0-7")
    return SYSLOG_LEVELS[value]


def _time(value: Any) -> str:
    if value is None:
        return datetime.now(UTC).isoformat()
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise RecordRejected("invalid_timestamp", "timestamp must be seconds") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordRejected("invalid_timestamp", "timestamp must be seconds since the epoch")
    try:
        return datetime.fromtimestamp(value, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        raise RecordRejected("invalid_timestamp", "timestamp out of range") from None


def _integer(value: Any) -> Any:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def gelf_to_record(message: object) -> dict[str, Any]:
    """The contract record for one decoded GELF message; raises :class:`RecordRejected`."""
    if not isinstance(message, dict):
        raise RecordRejected("not_a_dict", "a GELF message is a JSON object")
    version = message.get("version")
    if version is not None and str(version) not in GELF_VERSIONS:
        raise RecordRejected("invalid_version", "GELF version must be 1.0 or 1.1")
    short = message.get("short_message")
    if not isinstance(short, str) or not short.strip():
        raise RecordRejected("missing_short_message", "short_message is required")
    host = message.get("host")
    if not isinstance(host, str) or not host:
        raise RecordRejected("missing_host", "host is required")

    record: dict[str, Any] = {
        "time": _time(message.get("timestamp")),
        "level": _level(message.get("level")),
        "message": short,
        "host": host,
    }
    full = message.get("full_message")
    if isinstance(full, str) and full and full != short:
        record["exception"] = full
    extras: dict[str, Any] = {}
    if "facility" in message:
        extras["facility"] = message["facility"]
    if "file" in message:
        extras["file"] = message["file"]
    if "line" in message:
        record["line"] = _integer(message["line"])
    for key, value in message.items():
        if not key.startswith("_") or key in _IGNORED:
            continue
        column = _COLUMN_FIELDS.get(key)
        if column is not None and value is not None:
            record[column] = _integer(value) if column in _INTEGER_COLUMNS else str(value)
        else:
            extras[key[1:]] = value
    # graypy sends the logger's name as the facility unless told otherwise.
    if "logger" not in record and isinstance(message.get("facility"), str):
        record["logger"] = message["facility"]
    record["fields"] = flatten_fields(extras)
    return record
