"""Retention per service: old records go, recent ones and longer-kept services stay."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import all_stored

from loom_common.db import Database
from loom_common.settings import SettingsError
from loom_logs.config import load_logs_config
from loom_logs.store.retention import expire_records

NOW = datetime(2030, 6, 1, tzinfo=UTC)
RecordFactory = Callable[..., dict[str, Any]]
Store = Callable[[list[Any]], None]
Counter = Callable[..., float]


def _days_ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def test_each_service_keeps_its_own_number_of_days(
    database: Database, store: Store, make_record: RecordFactory, counter: Counter
) -> None:
    store(
        [
            make_record(service="web", time=_days_ago(8), message="web old"),
            make_record(service="web", time=_days_ago(6), message="web recent"),
            make_record(service="worker", time=_days_ago(20), message="worker kept long"),
            make_record(service="worker", time=_days_ago(31), message="worker too old"),
            make_record(service="errors", time=_days_ago(15), message="errors old"),
            make_record(service=None, time=_days_ago(15), message="no service old"),
            make_record(service="errors", time=_days_ago(13), message="errors recent"),
        ]
    )
    before = counter("loom_logs_records_expired_total", service="web")
    config = load_logs_config(retention_days=14, retention_by_service="web=7, worker=30")

    deleted = expire_records(database, config, NOW)

    assert deleted == {"web": 1, "worker": 1, "none": 2}
    left = {row.message for row in all_stored(database)}
    assert left == {"web recent", "worker kept long", "errors recent"}
    assert counter("loom_logs_records_expired_total", service="web") - before == 1
    assert expire_records(database, config, NOW) == {"web": 0, "worker": 0, "none": 0}


@pytest.mark.parametrize("value", ["web", "web=0", "web=seven", "=3"])
def test_a_bad_retention_setting_stops_the_process_naming_it(value: str) -> None:
    with pytest.raises(SettingsError, match="LOOM_LOGS_RETENTION_BY_SERVICE"):
        load_logs_config(retention_by_service=value)
