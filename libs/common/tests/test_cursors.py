"""One cursor codec for every collection: typed, versioned, tied to its listing, one refusal."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest

from loom_common.cursors import InvalidCursor, decode_cursor, encode_cursor


def test_a_cursor_is_refused_by_another_listing_with_the_one_message() -> None:
    cursor = encode_cursor("jobs", "2030-01-01T12:00:00+00:00", 42)
    with pytest.raises(InvalidCursor) as refused:
        decode_cursor("tasks", cursor, str, int)
    assert (refused.value.status, refused.value.message) == (
        400,
        "invalid cursor: pass back the next_cursor of a previous page unchanged",
    )
    assert set(refused.value.fields or {}) == {"cursor"}


def test_a_position_of_the_wrong_kinds_is_refused() -> None:
    moment = datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert decode_cursor("jobs", encode_cursor("jobs", moment, 42), datetime, int) == [moment, 42]
    # position kinds:  an id that is text, a bool, a time that is not one, or a naive time
    for position in [(moment, "42"), (moment, True), ("yesterday", 42), ("2030-01-01T12:00", 1)]:
        with pytest.raises(InvalidCursor):
            decode_cursor("jobs", encode_cursor("jobs", *position), datetime, int)


def test_a_naive_time_is_written_as_utc() -> None:
    naive = datetime(2030, 1, 1, 12)
    [decoded] = decode_cursor("jobs", encode_cursor("jobs", naive), datetime)
    assert decoded == naive.replace(tzinfo=UTC)


def test_a_cursor_of_another_format_version_is_refused() -> None:
    other_version = base64.urlsafe_b64encode(orjson.dumps({"v": 2, "l": "jobs", "p": [1]})).decode()
    with pytest.raises(InvalidCursor):
        decode_cursor("jobs", other_version, int)
