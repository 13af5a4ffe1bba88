"""The live-tail hub without HTTP: one poller per process, per-client filters, bounded queues."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

import orjson

from loom_common.db import Database
from loom_common.testing import wait_until
from loom_logs.search.query import LogFilter
from loom_logs.tail.filter import TailFilter
from loom_logs.tail.hub import TailHub

RecordFactory = Callable[..., dict[str, Any]]
Store = Callable[[list[Any]], None]
Counter = Callable[..., float]


def _messages(events: queue.Queue[bytes]) -> list[str]:
    found = []
    while not events.empty():
        data = events.get_nowait().split(b"data: ", 1)[1]
        found.append(orjson.loads(data)["message"])
    return found


def test_each_subscriber_gets_only_new_lines_matching_its_filter(
    database: Database, store: Store, make_record: RecordFactory
) -> None:
    store([make_record(message="stored before anyone listened")])
    hub = TailHub(database, interval=0.05, queue_size=100)
    everything = hub.subscribe(TailFilter(LogFilter()))
    errors_only = hub.subscribe(TailFilter(LogFilter(min_level_no=40, text="disk")))
    by_field = hub.subscribe(TailFilter(LogFilter(fields=[("order", "7")], services=["shop"])))

    store(
        [
            make_record(message="Disk full", level="ERROR"),
            make_record(message="disk fine", level="INFO"),
            make_record(message="paid", service="shop", fields={"order": 7}),
            make_record(message="paid elsewhere", service="web", fields={"order": 7}),
        ]
    )
    wait_until(lambda: everything.events.qsize() == 4, timeout=10)
    assert _messages(everything.events) == ["Disk full", "disk fine", "paid", "paid elsewhere"]
    assert _messages(errors_only.events) == ["Disk full"]
    assert _messages(by_field.events) == ["paid"]

    hub.unsubscribe(errors_only)
    store([make_record(message="disk gone", level="CRITICAL")])
    wait_until(lambda: everything.events.qsize() == 1, timeout=10)
    assert errors_only.events.empty()


def test_a_slow_client_loses_lines_not_memory_and_the_drops_are_counted(
    database: Database, store: Store, make_record: RecordFactory, counter: Counter
) -> None:
    before = counter("loom_logs_tail_dropped_total")
    hub = TailHub(database, interval=0.05, queue_size=3)
    slow = hub.subscribe(TailFilter(LogFilter()))
    store([make_record(message=f"line {n}") for n in range(10)])
    wait_until(lambda: slow.dropped == 7, timeout=10)
    assert _messages(slow.events) == ["line 0", "line 1", "line 2"]
    assert counter("loom_logs_tail_dropped_total") - before == 7
