"""Events stored in batches: one transaction says what storing them one by one would have said.

Also the consumer's batch writer (one outcome per event, one alert per issue per batch, a bad
event failing only itself), and the rate limit shared by processes without a database write.
"""

from __future__ import annotations

import multiprocessing
import secrets
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from loom_common.db import Database
from loom_errors.config import ErrorsConfig
from loom_errors.ingest.rate_limit import FileTokenBuckets, RedisTokenBuckets
from loom_errors.models import (
    DEFAULT_PROJECT_ID,
    Event,
    Issue,
    IssueFacet,
    IssueMinute,
    Project,
    as_utc,
)
from loom_errors.store.batch_writer import BatchWriter, Outcome
from loom_errors.store.event_batch import PreparedEvent, Stored, prepare_event
from loom_errors.store.events import ingest_batch

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(text: str, minutes: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": (NOON + timedelta(minutes=minutes)).isoformat(),
        "message": text,
        "release": "1.0",
        "tags": {"service": "web"},
    } | fields


def prepared(*events: dict[str, Any]) -> list[PreparedEvent]:
    return [prepare_event(each) for each in events]


def test_a_batch_counts_groups_and_dedupes_like_one_by_one(database: Database) -> None:
    first = event("disk full", 1, user={"id": "7"})
    batch = [
        first,
        event("disk full", 3, user={"id": "7"}, environment="staging"),
        dict(first),  # the same event twice in one batch
        event("cache down", 2, user={"id": "8"}),
        event("disk full", 2, user={"id": "9"}),
    ]

    outcomes = ingest_batch(database, prepared(*batch))
    again = ingest_batch(database, prepared(batch[1]))  # redelivered in a later batch

    assert [(o.new_issue, o.duplicate) for o in outcomes] == [
        (True, False),
        (False, False),
        (False, True),
        (True, False),
        (False, False),
    ]
    assert again[0].duplicate and again[0].issue.id == outcomes[0].issue.id
    with database.session() as session:
        disk = session.scalar(select(Issue).where(Issue.title == "disk full"))
        assert disk is not None
        assert (disk.count, disk.user_count) == (3, 2)
        assert as_utc(disk.first_seen) == NOON + timedelta(minutes=1)
        assert as_utc(disk.last_seen) == NOON + timedelta(minutes=3)
        assert disk.last_event_id == batch[1]["event_id"]  # the latest, not the last sent
        assert disk.environment == "staging"
        assert session.scalar(select(func.count()).select_from(Event)) == 4
        facets = session.execute(
            select(IssueFacet.environment, IssueFacet.count)
            .where(IssueFacet.issue_id == disk.id)
            .order_by(IssueFacet.environment)
        ).all()
        assert [tuple(row) for row in facets] == [("", 2), ("staging", 1)]
        minutes = session.scalars(
            select(IssueMinute.count).where(IssueMinute.issue_id == disk.id)
        ).all()
        assert sorted(minutes) == [1, 1, 1]


def test_a_batch_reopens_a_resolved_issue_once(database: Database) -> None:
    (stored,) = ingest_batch(database, prepared(event("queue stalled")))
    with database.session() as session:
        session.get_one(Issue, stored.issue.id).status = "resolved"

    outcomes = ingest_batch(
        database, prepared(event("queue stalled", 5), event("queue stalled", 6))
    )

    assert [o.regression for o in outcomes] == [True, False]
    assert outcomes[0].issue.status == "unresolved"
    assert as_utc(outcomes[0].issue.regressed_at or NOON) == NOON + timedelta(minutes=5)


def test_resolved_in_next_release_reopens_on_the_first_event_of_another_release(
    database: Database,
) -> None:
    (stored,) = ingest_batch(database, prepared(event("slow page", release="1.0")))
    with database.session() as session:
        issue = session.get_one(Issue, stored.issue.id)
        issue.status, issue.resolved_in_release = "resolved_in_next_release", "1.0"

    same = ingest_batch(database, prepared(event("slow page", 1, release="1.0")))
    mixed = ingest_batch(
        database,
        prepared(event("slow page", 2, release="1.0"), event("slow page", 3, release="1.1")),
    )

    assert not same[0].regression and same[0].issue.status == "resolved_in_next_release"
    assert [o.regression for o in mixed] == [False, True]
    assert mixed[1].issue.status == "unresolved"


def test_the_cap_on_stored_events_holds_after_a_large_batch(database: Database) -> None:
    events = [event("flood", minute) for minute in range(12)]

    ingest_batch(database, prepared(*events), ErrorsConfig(events_per_issue=5))

    with database.session() as session:
        assert session.scalar(select(Issue.count)) == 12
        kept = session.scalars(select(Event.event_id).order_by(Event.timestamp)).all()
    assert kept == [events[0]["event_id"]] + [each["event_id"] for each in events[-5:]]


def _set_alerts(database: Database, recipients: list[str], threshold: int | None) -> None:
    with database.session() as session:
        project = session.get_one(Project, DEFAULT_PROJECT_ID)
        project.alert_recipients = orjson.dumps(recipients).decode()
        project.alert_event_threshold = project.alert_threshold_minutes = threshold


def test_a_batch_says_which_events_may_alert_by_the_projects_settings(database: Database) -> None:
    def may_alert(*texts: str) -> list[bool]:
        return [o.may_alert for o in ingest_batch(database, prepared(*map(event, texts)))]

    assert may_alert("no recipients", "no recipients") == [False, False]
    _set_alerts(database, ["ops@example.com"], None)
    assert may_alert("no recipients", "brand new") == [False, True]  # only new issues alert
    _set_alerts(database, ["ops@example.com"], 5)
    assert may_alert("no recipients") == [True]  # a threshold may be passed by any event


def _issue(issue_id: int) -> Issue:
    return Issue(id=issue_id)


def test_the_writer_gives_each_event_its_outcome_and_one_alert_per_issue() -> None:
    calls: list[int] = []

    def store(batch: list[PreparedEvent]) -> list[Stored]:
        calls.append(len(batch))
        return [
            Stored(_issue(1), new_issue=True),
            Stored(_issue(1)),
            Stored(_issue(2)),
            Stored(_issue(2)),
            Stored(_issue(3), duplicate=True),
        ][: len(batch)]

    batch = [(each, Future[Outcome]()) for each in prepared(*(event(f"e{n}") for n in range(5)))]

    BatchWriter(store)._write(batch)

    outcomes = [done.result() for _, done in batch]
    assert calls == [5]
    assert [o.alert for o in outcomes] == [True, False, False, True, False]


def test_a_batch_that_fails_is_retried_event_by_event() -> None:
    def store(batch: list[PreparedEvent]) -> list[Stored]:
        if any(each.event.message == "bad" for each in batch):
            raise RuntimeError("cannot store that one")
        return [Stored(_issue(1)) for _ in batch]

    good, bad = Future[Outcome](), Future[Outcome]()

    BatchWriter(store)._write(
        [(prepared(event("good"))[0], good), (prepared(event("bad"))[0], bad)]
    )

    assert good.result().stored.issue.id == 1
    with pytest.raises(RuntimeError, match="cannot store that one"):
        bad.result()


def test_the_writer_thread_stores_what_worker_threads_hand_it() -> None:
    seen: list[int] = []

    def store(batch: list[PreparedEvent]) -> list[Stored]:
        seen.append(len(batch))
        return [Stored(_issue(index)) for index, _ in enumerate(batch)]

    writer = BatchWriter(store)
    events = prepared(*(event(f"threaded {n}") for n in range(40)))
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(writer.store, events))

    assert len(outcomes) == 40
    assert sum(seen) == 40


def _take_from_file_buckets(folder: str, results: Any) -> None:
    buckets = FileTokenBuckets(Path(folder))
    results.put([buckets.take(7, 0.001, 10) for _ in range(10)])


def test_file_buckets_are_shared_by_processes(tmp_path: Path) -> None:
    # Two processes (like two gunicorn workers) draw 10 each from one bucket of 10.
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_take_from_file_buckets, args=(str(tmp_path), results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    answers = results.get(timeout=60) + results.get(timeout=60)
    for worker in workers:
        worker.join(timeout=30)

    assert answers.count(0) == 10
    assert all(wait >= 1 for wait in answers if wait)
    assert FileTokenBuckets(tmp_path).take(8, 0.001, 10) == 0  # another project, its own bucket


def test_redis_buckets_limit_and_say_how_long_to_wait() -> None:
    prefix = f"loom:test:{secrets.token_hex(4)}:"
    buckets = RedisTokenBuckets("redis://127.0.0.1:6379/0", prefix=prefix)
    try:
        answers = [buckets.take(3, 0.1, 3) for _ in range(5)]
        other = buckets.take(4, 0.1, 3)
    finally:
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        client.delete(f"{prefix}3", f"{prefix}4")

    assert answers[:3] == [0, 0, 0]
    assert all(1 <= wait <= 10 for wait in answers[3:])
    assert other == 0


def test_with_redis_down_events_go_through_and_that_is_counted() -> None:
    def unavailable() -> float:
        value = REGISTRY.get_sample_value("loom_errors_rate_limit_unavailable_total")
        return value or 0.0

    before = unavailable()
    buckets = RedisTokenBuckets("redis://127.0.0.1:1/0")

    assert buckets.take(1, 1.0, 1) == 0
    assert unavailable() == before + 1
