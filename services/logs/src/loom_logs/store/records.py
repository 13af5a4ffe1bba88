"""Checking one incoming record of the ``logs.ingest`` contract and turning it into table values.

The shape is :func:`loom_common.log_records.record_to_dict`. ``time`` (an ISO-8601 string;
without an offset it is taken as UTC) and ``message`` are required; every other key may be
missing or null. Keys the contract does not know are ignored. A wrong type anywhere rejects
the record with a short reason suitable as a metric label.

Every way in (``/api/ingest``, GELF over HTTP, UDP and TCP, Loki push, the ``logs`` queue
that services ship to) ends here before storage, so the message, the exception text and the
fields are scrubbed here (loom_common.scrubbing): senders outside Loom scrub nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from loom_common.scrubbing import scrub_fields, scrub_text
from loom_logs.store.levels import level_number

MAX_FIELDS_DEPTH = 32  # levels of objects and arrays in ``fields``; deeper is refused

Short = Annotated[str, StringConstraints(max_length=255)]
SmallInt = Annotated[int, Field(ge=0, le=2**31 - 1)]  # fits an INTEGER column everywhere


class RecordRejected(ValueError):
    """The record cannot be stored; ``reason`` is ``not_a_dict``, ``missing_<key>`` or ``invalid_<key>``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class IncomingRecord(BaseModel):
    # Strict: a number where a string belongs is a sender bug worth seeing, not coercing.
    model_config = ConfigDict(strict=True, extra="ignore")

    time: datetime = Field(strict=False)
    message: str
    level: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "INFO"
    service: Annotated[str, StringConstraints(max_length=100)] | None = None
    env: Annotated[str, StringConstraints(max_length=32)] | None = None
    host: Short | None = None
    logger: Short | None = None
    function: Short | None = None
    line: SmallInt | None = None
    process: SmallInt | None = None
    thread: Short | None = None
    request_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    exception: str | None = None
    fields: dict[str, Any] | None = None

    @field_validator("time", mode="before")
    @classmethod
    def _time_is_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("time must be an ISO-8601 string")
        return value

    @field_validator("time")
    @classmethod
    def _time_in_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


CONTRACT_KEYS = frozenset(IncomingRecord.model_fields)


def contract_record(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` without the keys the contract does not know, so that they are never published."""
    return {key: value for key, value in raw.items() if key in CONTRACT_KEYS}


def _deeper_than(value: Any, limit: int) -> bool:
    # Iterative, so that a value nested thousands deep costs no recursion to measure.
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return any(isinstance(item, dict | list) and item for item in level)


def _without_nul(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; one stray byte must not fail the whole batch there.
    if text is None or "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd")


def _reason(error: ValidationError) -> str:
    first = error.errors()[0]
    key = str(first["loc"][0]) if first["loc"] else "record"
    return f"missing_{key}" if first["type"] == "missing" else f"invalid_{key}"


def parse_record(raw: object) -> dict[str, Any]:
    """The column values (:func:`loom_logs.models.log_columns`) of one incoming record.

    Raises :class:`RecordRejected` when the record cannot be stored.
    """
    if not isinstance(raw, dict):
        raise RecordRejected("not_a_dict", f"expected an object, got {type(raw).__name__}")
    try:
        record = IncomingRecord.model_validate(raw)
    except ValidationError as error:
        raise RecordRejected(_reason(error), str(error.errors()[0]["msg"])) from None
    if _deeper_than(record.fields or {}, MAX_FIELDS_DEPTH):
        raise RecordRejected("invalid_fields", f"nested deeper than {MAX_FIELDS_DEPTH} levels")
    try:
        fields = orjson.dumps(scrub_fields(record.fields or {}), default=str).decode()
    except orjson.JSONEncodeError as error:  # nested too deep to store as JSON
        raise RecordRejected("invalid_fields", str(error)) from None
    level = record.level.upper()
    return {
        "time": record.time,
        "service": _without_nul(record.service),
        "env": _without_nul(record.env),
        "host": _without_nul(record.host),
        "level": _without_nul(level),
        "level_no": level_number(level),
        "logger": _without_nul(record.logger),
        "function": _without_nul(record.function),
        "line": record.line,
        "process": record.process,
        "thread": _without_nul(record.thread),
        "message": _without_nul(scrub_text(record.message)),
        "request_id": _without_nul(record.request_id),
        "exception": _without_nul(scrub_text(record.exception) if record.exception else None),
        "fields": fields,  # JSON escapes NUL, so no stray byte reaches the database
    }
