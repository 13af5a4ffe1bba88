"""The errors.ingest actor over the real RabbitMQ (a fresh vhost), in an in-process worker."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import dramatiq
import orjson
import pika
from sqlalchemy import select

from loom_common.broker import send
from loom_common.contracts import ERRORS_ACTOR, ERRORS_QUEUE
from loom_common.testing import wait_until
from loom_errors.models import Event, Issue


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


def test_after_a_poison_message_the_consumer_keeps_going(
    actors: ModuleType, worker: dramatiq.Worker, broker_url: str, sentry_events: Any
) -> None:
    event = sentry_events.message("after the poison")

    send(ERRORS_QUEUE, ERRORS_ACTOR, event="garbage, not an event")
    send(ERRORS_QUEUE, ERRORS_ACTOR, event=event)

    assert wait_until(lambda: issue_with_event(actors, event["event_id"]), message="the good one")
    rejected = wait_until(lambda: dead_letter(broker_url), message="the poison in errors.XQ")
    assert rejected["kwargs"]["event"] == "garbage, not an event"
    assert "must be a JSON object, not str" in rejected["options"]["dead_letter_reason"]


def test_the_same_event_sent_twice_is_stored_once(
    actors: ModuleType, worker: dramatiq.Worker, sentry_events: Any
) -> None:
    event = sentry_events.message("sent twice")
    marker = sentry_events.message("sent after the pair")

    send(ERRORS_QUEUE, ERRORS_ACTOR, event=event)
    send(ERRORS_QUEUE, ERRORS_ACTOR, event=event, project_id=1)
    send(ERRORS_QUEUE, ERRORS_ACTOR, event=marker)

    # One worker thread: once the marker is stored, both copies have been processed.
    assert wait_until(lambda: issue_with_event(actors, marker["event_id"]), message="the marker")
    with actors.database.session() as session:
        issue = session.scalar(select(Issue).where(Issue.title == "sent twice"))
        assert issue is not None
        assert issue.count == 1
        stored = session.scalars(select(Event).where(Event.issue_id == issue.id)).all()
        assert [row.event_id for row in stored] == [event["event_id"]]
