"""Messages about rows are published once the rows are committed, and never when the commit
fails, on the real RabbitMQ; other after-commit work follows the same rule."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import dramatiq.errors
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from loom_common.after_commit import after_commit
from loom_common.broker import LoomRabbitmqBroker, send_after_commit
from loom_common.db import Database
from loom_common.request_context import request_id_var

Drain = Callable[[str], list[dict[str, Any]]]
metadata = MetaData()
accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String, unique=True),
)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'after-commit.db'}")
    metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def queue(broker: LoomRabbitmqBroker) -> str:
    name = f"q-{uuid.uuid4().hex[:10]}"
    broker.declare_queue(name, ensure=True)
    return name


def test_the_message_is_published_once_the_rows_are_committed(
    database: Database, queue: str, drain_queue: Drain
) -> None:
    token = request_id_var.set("req-after-commit")
    try:
        with database.session() as session:
            session.execute(insert(accounts).values(email="ada@example.com"))
            message = send_after_commit(session, queue, "welcome", to="ada@example.com")
            assert drain_queue(queue) == []  # not while the transaction is open
    finally:
        request_id_var.reset(token)
    [sent] = drain_queue(queue)
    assert sent["message_id"] == message.message_id
    assert sent["kwargs"] == {"to": "ada@example.com"}
    assert sent["options"]["request_id"] == "req-after-commit"


def test_a_failed_commit_leaves_no_message(
    database: Database, queue: str, drain_queue: Drain
) -> None:
    with database.session() as session:
        session.execute(insert(accounts).values(email="ada@example.com"))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add_all([])
        send_after_commit(session, queue, "welcome", to="ada@example.com")
        session.execute(insert(accounts).values(email="ada@example.com"))  # duplicate
    assert drain_queue(queue) == []

    # the session used after a rollback does not replay what was dropped
    session = database.sessions()
    send_after_commit(session, queue, "welcome", to="first@example.com")
    session.rollback()
    send_after_commit(session, queue, "welcome", to="second@example.com")
    session.commit()
    session.close()
    assert [m["kwargs"]["to"] for m in drain_queue(queue)] == ["second@example.com"]


def test_callbacks_with_one_key_run_once_per_commit(database: Database) -> None:
    ran: list[str] = []
    with database.session() as session:
        for name in ("first", "second"):
            after_commit(session, lambda name=name: ran.append(name), key="project-7")  # type: ignore[misc]
        after_commit(session, lambda: ran.append("other"))
    assert ran == ["first", "other"]


def test_a_broker_outage_after_the_commit_reaches_the_caller_as_such(
    database: Database, broker: LoomRabbitmqBroker
) -> None:
    """The web app answers a BrokerConnectionError with a 503: it must not turn into
    SQLAlchemy's "session is in 'committed' state" on the way out."""
    unreachable = LoomRabbitmqBroker(url="amqp://guest:guest@127.0.0.1:1/%2F", middleware=[])
    dramatiq.set_broker(unreachable)
    try:
        with pytest.raises(dramatiq.errors.ConnectionError), database.session() as session:
            session.execute(insert(accounts).values(email="ada@example.com"))
            send_after_commit(session, "nowhere", "welcome", to="ada@example.com")
    finally:
        dramatiq.set_broker(broker)
        unreachable.close()
    with database.session() as session:
        assert session.scalar(select(accounts.c.email)) == "ada@example.com"


def test_a_callback_that_raises_does_not_stop_the_others(database: Database) -> None:
    ran: list[str] = []

    def refused() -> None:
        raise dramatiq.errors.BrokerConnectionError("broker gone")

    with pytest.raises(dramatiq.errors.BrokerConnectionError), database.session() as session:
        session.execute(insert(accounts).values(email="grace@example.com"))
        after_commit(session, refused)
        after_commit(session, lambda: ran.append("cache moved on"))
    assert ran == ["cache moved on"]
