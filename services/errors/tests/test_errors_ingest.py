"""store_event: events are kept once and counted on their issue (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from loom_common.db import Database
from loom_errors.ingest.sentry_event import MalformedEvent
from loom_errors.models import Event, Issue, as_utc
from loom_errors.store.events import ingest_event, store_event
from loom_errors.store.grouping import GROUPING_VERSION

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def divide(a: int, b: int) -> float:
    return a / b


def occurrence(sentry_events: Any, at: datetime, **tags: str) -> dict[str, Any]:
    """A new occurrence of the same ZeroDivisionError, sent at ``at``."""
    try:
        divide(1, 0)
    except ZeroDivisionError as error:
        event: dict[str, Any] = sentry_events.exception(error, tags=tags)
    event["timestamp"] = at.isoformat().replace("+00:00", "Z")
    return event


def test_events_of_one_bug_are_counted_on_one_issue(database: Database, sentry_events: Any) -> None:
    first = occurrence(sentry_events, NOON, request_id="req-1")
    second = occurrence(sentry_events, NOON + timedelta(minutes=5), request_id="req-2")
    later = NOON + timedelta(hours=1)

    with database.session() as session:
        issue = store_event(session, first, received_at=later)
        store_event(session, second, received_at=later)

    with database.session() as session:
        issue = session.get_one(Issue, issue.id)
        assert issue.count == 2
        assert as_utc(issue.first_seen) == NOON
        assert as_utc(issue.last_seen) == NOON + timedelta(minutes=5)
        assert issue.last_event_id == second["event_id"]
        assert issue.title == "ZeroDivisionError: division by zero"
        assert issue.culprit == f"{__name__}.divide"
        assert issue.level == "error"
        assert issue.status == "unresolved"
        assert issue.grouping_version == GROUPING_VERSION
        assert (issue.service, issue.environment, issue.release) == ("web", "test", "1.0.0")
        stored = session.scalars(select(Event).order_by(Event.id)).all()
        assert [event.request_id for event in stored] == ["req-1", "req-2"]
        assert all(event.issue_id == issue.id for event in stored)


def test_a_late_older_event_counts_without_moving_last_seen(
    database: Database, sentry_events: Any
) -> None:
    newest = occurrence(sentry_events, NOON)
    older = occurrence(sentry_events, NOON - timedelta(hours=2))

    with database.session() as session:
        issue_id = store_event(session, newest, received_at=NOON).id
    with database.session() as session:
        issue = store_event(session, older, received_at=NOON)
        assert issue.id == issue_id
        assert issue.count == 2
        assert as_utc(issue.first_seen) == NOON - timedelta(hours=2)
        assert as_utc(issue.last_seen) == NOON
        assert issue.last_event_id == newest["event_id"]


def test_a_redelivered_event_is_stored_once(database: Database, sentry_events: Any) -> None:
    event = occurrence(sentry_events, NOON)

    first = ingest_event(database, event)
    again = ingest_event(database, dict(event, event_id=str(uuid.UUID(event["event_id"]))))

    assert again.id == first.id
    with database.session() as session:
        assert session.get_one(Issue, first.id).count == 1
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_different_bugs_make_different_issues(database: Database, sentry_events: Any) -> None:
    with database.session() as session:
        division = store_event(session, occurrence(sentry_events, NOON))
        message = store_event(session, sentry_events.message("disk 93% full", level="warning"))

    assert division.id != message.id
    assert message.title == "disk 93% full"
    assert message.level == "warning"


def test_a_resolved_issue_that_happens_again_is_unresolved(
    database: Database, sentry_events: Any
) -> None:
    with database.session() as session:
        issue = store_event(session, occurrence(sentry_events, NOON))
        issue.status = "resolved"
    with database.session() as session:
        issue = store_event(session, occurrence(sentry_events, NOON + timedelta(days=1)))

    assert issue.status == "unresolved"
    assert issue.count == 2


def test_tags_as_key_value_pairs_and_epoch_timestamps_are_understood(database: Database) -> None:
    event = {
        "event_id": uuid.uuid4().hex,
        "timestamp": NOON.timestamp(),
        "level": "fatal",
        "platform": "javascript",
        "message": "checkout crashed",
        "tags": [["service", "shop-frontend"], ["request_id", "req-js-1"]],
    }

    with database.session() as session:
        issue = store_event(session, event, received_at=NOON + timedelta(seconds=2))
        stored = session.scalar(select(Event).where(Event.issue_id == issue.id))

    assert issue.service == "shop-frontend"
    assert issue.level == "fatal"
    assert as_utc(issue.last_seen) == NOON
    assert stored is not None
    assert stored.request_id == "req-js-1"


def test_a_timestamp_from_a_fast_clock_is_taken_as_the_time_received(
    database: Database, sentry_events: Any
) -> None:
    event = occurrence(sentry_events, NOON + timedelta(hours=3))

    with database.session() as session:
        issue = store_event(session, event, received_at=NOON)

    assert as_utc(issue.last_seen) == NOON


EVENT_ID = uuid.uuid4().hex


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "must be a JSON object, not NoneType"),
        ("boom", "must be a JSON object, not str"),
        ({"message": "no id"}, "event_id: Field required"),
        ({"event_id": "not-a-uuid"}, "event_id: not a UUID"),
        ({"event_id": 42}, "event_id: must be a string"),
        ({"event_id": EVENT_ID, "exception": "boom"}, "exception"),
        ({"event_id": EVENT_ID, "exception": {"values": [{"type": ["x"]}]}}, "values.0.type"),
        ({"event_id": EVENT_ID, "tags": "a=b"}, "tags: must be an object or a list"),
        ({"event_id": EVENT_ID, "tags": [["only-key"]]}, "tags: each tag must be a"),
        ({"event_id": EVENT_ID, "timestamp": "yesterday"}, "timestamp"),
        ({"event_id": EVENT_ID, "fingerprint": "abc"}, "fingerprint"),
    ],
)
def test_a_malformed_event_is_refused_with_the_reason(
    database: Database, raw: Any, reason: str
) -> None:
    with pytest.raises(MalformedEvent, match=reason.replace(".", r"\.")):
        ingest_event(database, raw)

    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Issue)) == 0


def test_concurrent_consumers_lose_no_count(database: Database, sentry_events: Any) -> None:
    # Eight consumers see the first events of a new bug at once: they race to create the
    # issue (the losers retry) and to count on it (one UPDATE each, no lost update).
    batches = [[occurrence(sentry_events, NOON) for _ in range(5)] for _ in range(8)]
    start = threading.Barrier(len(batches))

    def consume(batch: list[dict[str, Any]]) -> None:
        start.wait()
        for event in batch:
            ingest_event(database, event)

    with ThreadPoolExecutor(len(batches)) as pool:
        for outcome in [pool.submit(consume, batch) for batch in batches]:
            outcome.result()

    with database.session() as session:
        issues = session.scalars(select(Issue)).all()
        assert [issue.count for issue in issues] == [40]
        assert session.scalar(select(func.count()).select_from(Event)) == 40


def test_nul_characters_in_what_becomes_columns_are_stored_on_every_database(
    database: Database,
) -> None:
    # PostgreSQL text refuses NUL: such an event failed its insert on every retry.
    event = {
        "event_id": uuid.uuid4().hex,
        "message": "bad\x00byte",
        "environment": "prod\x00",
        "tags": {"service": "web\x00", "request_id": "req\x00"},
        "user": {"id": "user\x00"},
        "exception": {"values": [{"type": "Error\x00", "value": "v\x00"}]},
    }

    issue = ingest_event(database, event)

    with database.session() as session:
        stored = session.get_one(Issue, issue.id)
        assert (stored.title, stored.environment, stored.service) == (
            "Error\ufffd: v\ufffd",
            "prod\ufffd",
            "web\ufffd",
        )
        assert stored.user_count == 1
        assert session.scalar(select(Event.request_id)) == "req\ufffd"
