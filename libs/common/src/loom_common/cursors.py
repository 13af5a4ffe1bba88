"""Opaque pagination cursors for ``{"items": [...], "next_cursor": ...}`` collections."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from loom_common.api_errors import ApiError
from loom_common.bounded_ints import holds_an_oversized_number


def encode_cursor(*position: Any) -> str:
    """The position of the last item returned, e.g. ``(created_at_iso, id)``."""
    return base64.urlsafe_b64encode(orjson.dumps(list(position))).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The position inside ``cursor``; a 400 that says so when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise ApiError(
            400, "invalid cursor: pass back the next_cursor of a previous page"
        ) from None
    # An id past 64 bits would reach the database driver and fail there (OverflowError).
    if (
        not isinstance(position, list)
        or len(position) != size
        or holds_an_oversized_number(position)
    ):
        raise ApiError(400, "invalid cursor: pass back the next_cursor of a previous page")
    return position
