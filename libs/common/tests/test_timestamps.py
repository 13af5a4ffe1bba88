"""Timestamps at the ends of datetime's range are refused as a field, never an OverflowError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from loom_common.timestamps import AwareUtcDatetime, UtcDatetime


class Window(BaseModel):
    since: UtcDatetime
    until: AwareUtcDatetime


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_a_time_past_the_range_once_in_utc_names_the_field(since: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Window.model_validate({"since": since, "until": "2026-12-03T10:00:00Z"})
    (error,) = refused.value.errors()
    assert error["loc"] == ("since",)
    assert "out of range once converted to UTC" in error["msg"]


def test_times_arrive_in_utc() -> None:
    window = Window.model_validate(
        {"since": "2026-12-03T10:00:00", "until": "2026-12-03T12:00:00+02:00"}
    )
    assert window.since == datetime(2026, 12, 3, 10, tzinfo=UTC)
    assert window.until == datetime(2026, 12, 3, 10, tzinfo=UTC)
    assert window.until.tzinfo is UTC
