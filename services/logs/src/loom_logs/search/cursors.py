"""Opaque page cursors: where the previous page ended, as ``(time, id)`` of its last record.

Clients pass ``next_cursor`` back unchanged with the same filters; its content may change.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

import orjson

_INVALID = "invalid cursor: pass next_cursor from a previous page unchanged"
_MAX_ID = 2**63  # past a BIGINT, PostgreSQL would fail the query instead of finding nothing


class InvalidCursor(ValueError):
    """The cursor was not made by :func:`encode_cursor` (or was altered)."""


@dataclass(frozen=True)
class Position:
    time: datetime
    id: int


def encode_cursor(position: Position) -> str:
    payload = orjson.dumps([position.time.isoformat(), position.id])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        payload = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        time_text, record_id = orjson.loads(payload)
        time = datetime.fromisoformat(time_text)
    except (binascii.Error, orjson.JSONDecodeError, TypeError, ValueError):
        raise InvalidCursor(_INVALID) from None
    if (
        time.tzinfo is None
        or not isinstance(record_id, int)
        or isinstance(record_id, bool)
        or not 0 <= record_id < _MAX_ID
    ):
        raise InvalidCursor(_INVALID)
    return Position(time=time, id=record_id)
