"""The same event (same ``event_id``) arriving twice counts once, whatever the timing: after
the first copy committed, in the same batch, or while another transaction is storing it."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import func, select

from loom_common.db import Database
from loom_errors.config import ErrorsConfig
from loom_errors.models import Event, Issue, IssueUser
from loom_errors.store.event_batch import prepare_event, store_batch
from loom_errors.store.events import ingest_batch

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DUPLICATES = "loom_errors_events_duplicate_total"


def event(text: str, user: str = "ada") -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": NOON.isoformat(),
        "message": text,
        "tags": {"service": "web"},
        "user": {"id": user},
    }


def duplicates() -> float:
    return REGISTRY.get_sample_value(DUPLICATES) or 0.0


def counts(database: Database, title: str) -> tuple[int, int, int]:
    """The issue's count, its stored events and its users."""
    with database.session() as session:
        issue = session.scalar(select(Issue).where(Issue.title == title))
        assert issue is not None
        events = session.scalar(select(func.count()).where(Event.issue_id == issue.id))
        users = session.scalar(select(func.count()).where(IssueUser.issue_id == issue.id))
        return issue.count, int(events or 0), int(users or 0)


def test_a_copy_after_the_first_and_one_in_the_same_batch_count_once(database: Database) -> None:
    first = event("twice over")
    before = duplicates()

    ingest_batch(database, [prepare_event(first)])
    outcomes = ingest_batch(database, [prepare_event(first), prepare_event(first)])

    assert [stored.duplicate for stored in outcomes] == [True, True]
    assert counts(database, "twice over") == (1, 1, 1)
    assert duplicates() == before + 2


def test_a_copy_stored_while_another_transaction_holds_the_first_counts_once(
    database: Database,
) -> None:
    """Two consumers took the two copies at once: the loser's batch is retried, its copy is a
    duplicate then, and the other event of its batch is stored all the same."""
    copy, other = event("raced"), event("raced bystander", user="grace")
    holding = threading.Event()
    release = threading.Event()

    def first_holds_its_transaction() -> None:
        with database.session() as session:
            store_batch(session, [prepare_event(copy)], received_at=NOON, keep_latest=100)
            session.flush()
            holding.set()
            release.wait(10)

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(first_holds_its_transaction)
        assert holding.wait(10)
        second = pool.submit(
            ingest_batch, database, [prepare_event(copy), prepare_event(other)], ErrorsConfig()
        )
        # Give the second transaction time to reach the database before the first commits.
        threading.Event().wait(0.5)
        release.set()
        first.result(timeout=20)
        outcomes = second.result(timeout=30)

    assert [stored.duplicate for stored in outcomes] == [True, False]
    assert counts(database, "raced") == (1, 1, 1)
    assert counts(database, "raced bystander") == (1, 1, 1)
