"""The parts of a Sentry event the errors service reads, validated with pydantic.

Only what grouping, titles and the tables need is modelled; everything else in the event is
ignored here and kept verbatim in the stored payload. Accepts the shapes SDKs really send:
``exception`` as ``{"values": [...]}`` or a bare list, ``message`` as a string or an object,
``tags`` as a dict or a list of ``[key, value]`` pairs, ``timestamp`` as RFC 3339 or epoch seconds.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from loom_errors.models import as_utc

LEVELS = ("debug", "info", "warning", "error", "fatal")
_LEVEL_ALIASES = {"warn": "warning", "critical": "fatal", "exception": "error"}


def _without_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL: an event carrying one in its title, tags or user
    # would fail its insert on every retry and be lost. Shown as the replacement character.
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


# Every string read from an event becomes a column value somewhere (title, tags, user).
Text = Annotated[str, AfterValidator(_without_nul)]


class MalformedEvent(ValueError):
    """The message is not a usable Sentry event; retrying cannot fix it."""


class _Lenient(BaseModel):
    # SDKs differ in small ways (a numeric release, a string line number); accept those.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class Frame(_Lenient):
    module: Text | None = None
    function: Text | None = None
    filename: Text | None = None
    lineno: int | None = None
    in_app: bool | None = None


class Stacktrace(_Lenient):
    frames: list[Frame] = Field(default_factory=list)


class ExceptionValue(_Lenient):
    type: Text | None = None
    value: Text | None = None
    module: Text | None = None
    stacktrace: Stacktrace | None = None

    def in_app_frames(self) -> list[Frame]:
        """The frames of the application's own code, oldest call first."""
        if self.stacktrace is None:
            return []
        return [frame for frame in self.stacktrace.frames if frame.in_app is True]


class ExceptionList(_Lenient):
    values: list[ExceptionValue] = Field(default_factory=list)


class LogEntry(_Lenient):
    message: Text | None = None  # the template, before its parameters are filled in
    formatted: Text | None = None


class User(_Lenient):
    id: Text | None = None
    email: Text | None = None
    ip_address: Text | None = None
    username: Text | None = None

    def key(self) -> str | None:
        """Who this is, for counting affected users: id, else email, else username, else IP."""
        for kind, value in (
            ("id", self.id),
            ("email", self.email),
            ("username", self.username),
            ("ip", self.ip_address),
        ):
            if value:
                return f"{kind}:{value}"[:200]
        return None


class SentryEvent(_Lenient):
    event_id: str
    timestamp: datetime | None = None
    level: str = "error"
    platform: Text | None = None
    message: Text | None = None
    logentry: LogEntry | None = None
    exception: ExceptionList | None = None
    fingerprint: list[Text] | None = None
    tags: dict[Text, Text] = Field(default_factory=dict)
    transaction: Text | None = None
    environment: Text | None = None
    release: Text | None = None
    server_name: Text | None = None
    user: User | None = None

    @field_validator("event_id", mode="before")
    @classmethod
    def _normalise_event_id(cls, value: Any) -> str:
        # Sentry ids are UUIDs; SDKs send them with or without hyphens, in either case.
        if not isinstance(value, str):
            raise ValueError("must be a string (a UUID)")
        try:
            return uuid.UUID(value).hex
        except ValueError:
            raise ValueError(f"not a UUID: {value[:64]!r}") from None

    @field_validator("user", mode="before")
    @classmethod
    def _user_object(cls, value: Any) -> Any:
        # Some SDKs send a bare id; an unusable user is no reason to lose the event.
        if isinstance(value, str | int):
            return {"id": str(value)}
        return value if isinstance(value, dict) else None

    @field_validator("timestamp")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    @field_validator("level", mode="before")
    @classmethod
    def _normalise_level(cls, value: Any) -> str:
        if value is None:
            return "error"
        if not isinstance(value, str):
            raise ValueError("must be a string")
        level = value.strip().lower()
        level = _LEVEL_ALIASES.get(level, level)
        return level if level in LEVELS else "error"

    @field_validator("message", mode="before")
    @classmethod
    def _message_text(cls, value: Any) -> Any:
        # Older SDKs send the log entry object under "message".
        if isinstance(value, dict):
            return value.get("formatted") or value.get("message")
        return value

    @field_validator("exception", mode="before")
    @classmethod
    def _exception_values(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"values": value}
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_as_dict(cls, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if isinstance(value, dict):
            pairs: list[Any] = list(value.items())
        elif isinstance(value, list):
            pairs = value
        else:
            raise ValueError("must be an object or a list of [key, value] pairs")
        tags: dict[str, str] = {}
        for pair in pairs:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError("each tag must be a [key, value] pair")
            key, tag_value = pair
            if tag_value is None:
                continue
            if not isinstance(tag_value, str | int | float | bool):
                raise ValueError(f"tag {key!r} must have a plain value")
            tags[str(key)] = str(tag_value)
        return tags

    def raised_exception(self) -> ExceptionValue | None:
        """The exception that was raised; Sentry lists a chain with the raised one last."""
        if self.exception is None or not self.exception.values:
            return None
        return self.exception.values[-1]

    def message_template(self) -> str | None:
        """The message before formatting: the same log call groups together whatever its args."""
        if self.logentry is not None and self.logentry.message:
            return self.logentry.message
        return self.message or (self.logentry.formatted if self.logentry else None)

    def message_text(self) -> str | None:
        """The message as it was displayed."""
        if self.logentry is not None and self.logentry.formatted:
            return self.logentry.formatted
        return self.message or (self.logentry.message if self.logentry else None)


def _describe(error: ValidationError) -> str:
    problems = []
    for problem in error.errors()[:5]:
        field = ".".join(str(part) for part in problem["loc"]) or "event"
        problems.append(f"{field}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


def parse_event(raw: Any) -> SentryEvent:
    """Validate one event; raise :class:`MalformedEvent` saying which fields are wrong."""
    if not isinstance(raw, dict):
        raise MalformedEvent(f"an error event must be a JSON object, not {type(raw).__name__}")
    try:
        return SentryEvent.model_validate(raw)
    except ValidationError as error:
        raise MalformedEvent(f"malformed error event: {_describe(error)}") from None
