"""Secrets are masked before data is stored or logged; pagination cursors round-trip and
anything else is a clear 400."""

from __future__ import annotations

from typing import Any

import pytest

from loom_common.api_errors import ApiError
from loom_common.cursors import decode_cursor, encode_cursor
from loom_common.scrubbing import FILTERED
from loom_common.scrubbing import scrub_event as scrub


def test_secret_looking_keys_are_filtered_at_any_depth() -> None:
    payload = {
        "name": "Ada",
        "password": "hunter2",
        "API_KEY": "k-123",
        "nested": {"Authorization": "Bearer abc", "count": 3, "session_id": "s"},
        "items": [{"client_secret": "x", "id": 1}, "plain"],
        "options": ({"refresh_token": "t"},),
    }

    scrubbed = scrub(payload)

    assert scrubbed == {
        "name": "Ada",
        "password": FILTERED,
        "API_KEY": FILTERED,
        "nested": {"Authorization": FILTERED, "count": 3, "session_id": FILTERED},
        "items": [{"client_secret": FILTERED, "id": 1}, "plain"],
        "options": [{"refresh_token": FILTERED}],
    }
    assert FILTERED == "[Filtered]"


def test_scrub_leaves_the_original_untouched() -> None:
    payload = {"password": "hunter2", "inner": {"token": "t"}}
    scrub(payload)
    assert payload == {"password": "hunter2", "inner": {"token": "t"}}


@pytest.mark.parametrize("value", ["text", 3, None, 1.5, ["a", 1]])
def test_values_without_keys_pass_through(value: Any) -> None:
    assert scrub(value) == value


def test_ordinary_keys_that_merely_contain_a_secret_word_are_kept() -> None:
    job_kwargs = {"author": "Ada Lovelace", "passengers": 3, "tokens_used": 120}
    assert scrub(job_kwargs) == job_kwargs


@pytest.mark.parametrize(
    "position",
    [("2030-01-01T12:00:00+00:00", 42), (7, "abc"), ("é ünïcode", None), (1.5, [1, 2])],
)
def test_a_cursor_round_trips(position: tuple[Any, ...]) -> None:
    cursor = encode_cursor("things", *position)
    assert isinstance(cursor, str)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # safe in a URL
    assert decode_cursor("things", cursor, *[object] * len(position)) == list(position)


@pytest.mark.parametrize(
    "garbage",
    ["", "not-a-cursor!", "%%%", "e30", "bnVsbA", "WzFd", "éé", "WzEsMiwzXQ"],
    # e30 = {}, bnVsbA = null, WzFd = [1] (wrong size), WzEsMiwzXQ = [1,2,3]
)
def test_a_garbage_cursor_is_a_400_that_says_so(garbage: str) -> None:
    with pytest.raises(ApiError) as refused:
        decode_cursor("things", garbage, object, object)
    assert refused.value.status == 400
    assert "cursor" in refused.value.message
