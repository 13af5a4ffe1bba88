"""Opaque pagination cursors for ``{"items": [...], "next_cursor": ...}`` collections.

A cursor is the sort key of the last item of a page, with the name of the listing it belongs
to and a format version, as url-safe base64 of JSON without padding. Clients pass it back
unchanged; its content may change (the version says which reader wrote it). A cursor of one
listing is refused by another, and so is a position of the wrong kinds, or an integer past
64 bits (it would fail in the database driver instead of matching nothing).

Every refusal is one :class:`InvalidCursor`: a 400 naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import orjson

from loom_common.api_errors import ApiError
from loom_common.bounded_ints import MAX_INT64, MIN_INT64, holds_an_oversized_number

VERSION = 1
INVALID_CURSOR = "invalid cursor: pass back the next_cursor of a previous page unchanged"

# What a position may hold: its kinds, in order, are given to decode_cursor. ``object`` is any
# JSON value (integers still bounded); a datetime travels as ISO 8601 in UTC.
Kind = type[int] | type[str] | type[datetime] | type[object]


class InvalidCursor(ApiError):
    """The cursor was not made by :func:`encode_cursor` for this listing (or was altered)."""

    def __init__(self) -> None:
        super().__init__(
            400, INVALID_CURSOR, fields={"cursor": "not a next_cursor of this listing"}
        )


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        # Naive values are taken to be UTC already, as loom_common.db.UTCDateTime stores them.
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    return value


def encode_cursor(listing: str, *position: Any) -> str:
    """The cursor of ``listing`` after the item at ``position``, e.g. ``(created_at, id)``."""
    payload = orjson.dumps({"v": VERSION, "l": listing, "p": [_to_json(v) for v in position]})
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _of_kind(value: Any, kind: Kind) -> Any:
    """``value`` as ``kind``; raise InvalidCursor if it is not one."""
    if kind is int:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and MIN_INT64 <= value <= MAX_INT64
        ):
            return value
        raise InvalidCursor()
    if kind is str:
        if isinstance(value, str):
            return value
        raise InvalidCursor()
    if kind is datetime:
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidCursor() from None
        if moment.tzinfo is None:
            raise InvalidCursor()
        return moment.astimezone(UTC)
    if holds_an_oversized_number([value]):
        raise InvalidCursor()
    return value


def decode_cursor(listing: str, cursor: str, *kinds: Kind) -> list[Any]:
    """The position in ``cursor``, one value of each of ``kinds``; raise :class:`InvalidCursor`."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):  # orjson.JSONDecodeError is a ValueError
        raise InvalidCursor() from None
    if (
        not isinstance(data, dict)
        or data.get("v") != VERSION
        or data.get("l") != listing
        or not isinstance(data.get("p"), list)
        or len(data["p"]) != len(kinds)
    ):
        raise InvalidCursor()
    return [_of_kind(value, kind) for value, kind in zip(data["p"], kinds, strict=True)]
