"""Sentry envelopes: a JSON header line, then items of a JSON header line and a payload.

An item header may give the payload's ``length`` in bytes (the payload may then hold
newlines); without it the payload runs to the next newline. See
https://develop.sentry.dev/sdk/data-model/envelopes/
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson


class MalformedEnvelope(ValueError):
    pass


@dataclass
class EnvelopeItem:
    type: str
    headers: dict[str, Any]
    payload: bytes


@dataclass
class Envelope:
    headers: dict[str, Any]
    items: list[EnvelopeItem] = field(default_factory=list)
    event_id: str | None = None  # the header's, as 32 hex digits


def _header_event_id(headers: dict[str, Any]) -> str | None:
    """The envelope header's ``event_id`` (optional, a UUID), checked before any item is read."""
    value = headers.get("event_id")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedEnvelope("the envelope header's event_id must be a string (a UUID)")
    try:
        return uuid.UUID(value).hex
    except ValueError:
        raise MalformedEnvelope(
            f"the envelope header's event_id is not a UUID: {value[:64]!r}"
        ) from None


def _json_object(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise MalformedEnvelope(f"the {what} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise MalformedEnvelope(f"the {what} must be a JSON object")
    return value


def _line(body: bytes, start: int) -> tuple[bytes, int]:
    """The bytes from ``start`` to the next newline (or the end), and where the next line starts."""
    end = body.find(b"\n", start)
    if end == -1:
        return body[start:], len(body)
    return body[start:end], end + 1


def parse_envelope(body: bytes) -> Envelope:
    header_line, position = _line(body, 0)
    headers = _json_object(header_line, "envelope header")
    envelope = Envelope(headers=headers, event_id=_header_event_id(headers))
    number = 0
    while position < len(body):
        item_line, position = _line(body, position)
        if not item_line.strip():
            continue  # a trailing newline, or blank lines between items
        number += 1
        headers = _json_object(item_line, f"header of item {number}")
        kind = headers.get("type")
        if not isinstance(kind, str) or not kind:
            raise MalformedEnvelope(f"item {number} has no type")
        length = headers.get("length")
        if length is None:
            payload, position = _line(body, position)
        else:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise MalformedEnvelope(f"item {number}: length must be a non-negative integer")
            if position + length > len(body):
                raise MalformedEnvelope(
                    f"item {number} claims {length} bytes but the envelope ends sooner"
                )
            payload = body[position : position + length]
            position += length
            if body[position : position + 1] == b"\n":
                position += 1
        envelope.items.append(EnvelopeItem(type=kind, headers=headers, payload=payload))
    return envelope
