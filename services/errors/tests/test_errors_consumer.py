"""The errors.ingest actor over the real RabbitMQ (a fresh vhost), in an in-process worker."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import dramatiq
import orjson
import pika
import pytest
from sqlalchemy import select

from loom_common.broker import send
from loom_common.contracts import ERRORS_ACTOR, ERRORS_QUEUE
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_common.settings import Settings
from loom_common.testing import wait_until
from loom_errors.models import Issue


@pytest.fixture
def actors(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """loom_errors.actors, storing into this test's database.

    The module is imported once per process (its actor stays declared on the process's
    broker); each test swaps in its own database.
    """
    init_process("errors", settings)  # before the import: the module's own call returns these
    module = importlib.import_module("loom_errors.actors")
    database = Database(settings.database_url("errors"))
    monkeypatch.setattr(module, "database", database)
    yield module
    database.dispose()


@pytest.fixture
def worker(actors: ModuleType) -> Iterator[dramatiq.Worker]:
    worker = dramatiq.Worker(actors.ingest_error_event.broker, worker_threads=1, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()


def issue_with_event(actors: ModuleType, event_id: str) -> Issue | None:
    with actors.database.session() as session:
        issue: Issue | None = session.scalar(select(Issue).where(Issue.last_event_id == event_id))
        return issue


def dead_letter(broker_url: str) -> dict[str, Any] | None:
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        _method, _properties, body = connection.channel().basic_get(
            f"{ERRORS_QUEUE}.XQ", auto_ack=True
        )
    finally:
        connection.close()
    return orjson.loads(body) if body else None


def test_an_event_sent_over_rabbitmq_becomes_an_issue(
    actors: ModuleType, worker: dramatiq.Worker, sentry_events: Any
) -> None:
    try:
        int("forty-two")
    except ValueError as error:
        event = sentry_events.exception(error, tags={"request_id": "req-e2e"})

    send(ERRORS_QUEUE, ERRORS_ACTOR, event=event)

    issue = wait_until(
        lambda: issue_with_event(actors, event["event_id"]), message="the issue in the database"
    )
    assert issue is not None
    assert issue.title == "ValueError: invalid literal for int() with base 10: 'forty-two'"
    assert issue.count == 1


def test_a_malformed_event_is_dead_lettered_at_once_with_the_reason(
    actors: ModuleType, worker: dramatiq.Worker, broker_url: str
) -> None:
    send(ERRORS_QUEUE, ERRORS_ACTOR, event={"message": "an event without an id"})

    rejected = wait_until(lambda: dead_letter(broker_url), message="a message in errors.XQ")

    assert rejected is not None
    assert rejected["actor_name"] == ERRORS_ACTOR
    assert rejected["options"]["dead_letter_reason"] == (
        "MalformedEvent: malformed error event: event_id: Field required"
    )
    assert "retries" not in rejected["options"]  # not retried: it could never succeed
