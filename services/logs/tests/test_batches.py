"""A batch that arrives twice (a redelivery after a lost ack, a client's retry) is stored once."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from types import ModuleType
from typing import Any

from conftest import all_stored
from sqlalchemy import select, update

from loom_common.broker import send
from loom_common.contracts import LOGS_ACTOR, LOGS_QUEUE
from loom_common.db import Database, utcnow
from loom_common.testing import wait_until
from loom_logs.models import StoredBatch
from loom_logs.store.batches import REMEMBERED, forget_old_batches, store_batch_once

RecordFactory = Callable[..., dict[str, Any]]
Counter = Callable[..., float]


def test_the_same_batch_through_the_queue_twice_is_stored_once(
    consumer: ModuleType,
    database: Database,
    make_record: RecordFactory,
    found: Callable[..., list[dict[str, Any]]],
    counter: Counter,
) -> None:
    marker = secrets.token_hex(6)
    batch = [make_record(message=f"{marker} one"), make_record(message=f"{marker} two")]
    repeated_before = counter("loom_logs_batches_repeated_total")

    send(LOGS_QUEUE, LOGS_ACTOR, records=batch)
    send(LOGS_QUEUE, LOGS_ACTOR, records=batch)  # what RabbitMQ does when an ack was lost
    send(LOGS_QUEUE, LOGS_ACTOR, records=[make_record(message=f"{marker} three")])

    found(3, q=marker)
    wait_until(lambda: counter("loom_logs_batches_repeated_total") == repeated_before + 1)
    assert sorted(row.message for row in all_stored(database) if marker in row.message) == [
        f"{marker} one",
        f"{marker} three",
        f"{marker} two",
    ]


def test_a_batch_differing_in_one_record_is_not_a_repeat(
    database: Database, make_record: RecordFactory
) -> None:
    first = [make_record(message="a", time="2030-01-01T12:00:00.000001Z")]
    second = [make_record(message="a", time="2030-01-01T12:00:00.000002Z")]
    with database.session() as session:
        assert store_batch_once(session, first) is not None
        assert store_batch_once(session, second) is not None
        assert store_batch_once(session, first) is None
    assert [row.message for row in all_stored(database)] == ["a", "a"]


def test_remembered_batches_are_forgotten_after_a_while(
    database: Database, make_record: RecordFactory
) -> None:
    batch = [make_record(message="old")]
    with database.session() as session:
        store_batch_once(session, batch)
        session.execute(update(StoredBatch).values(stored_at=utcnow() - REMEMBERED - timedelta(1)))
    with database.session() as session:
        assert forget_old_batches(session) == 1
        assert session.scalars(select(StoredBatch)).all() == []
