"""Opaque pagination cursors: the sort key of the last item of a page, base64url-encoded.

Each cursor names the listing it belongs to, so one listing's cursor cannot be replayed on another.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from loom_common.bounded_ints import holds_an_oversized_number

INVALID_CURSOR = "invalid cursor: pass back the next_cursor of a previous page"


class InvalidCursor(ValueError):
    """The cursor was not made by this service for this listing."""


def encode_cursor(listing: str, position: list[Any]) -> str:
    raw = orjson.dumps({"l": listing, "p": position})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(listing: str, cursor: str) -> list[Any]:
    """The position stored in ``cursor``; raise :class:`InvalidCursor` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor(INVALID_CURSOR) from None
    if (
        not isinstance(data, dict)
        or data.get("l") != listing
        or not isinstance(data.get("p"), list)
        # an id past 64 bits would fail in the database driver (OverflowError), not match
        or holds_an_oversized_number(data["p"])
    ):
        raise InvalidCursor(f"invalid cursor: not a cursor of the {listing} listing")
    position: list[Any] = data["p"]
    return position
