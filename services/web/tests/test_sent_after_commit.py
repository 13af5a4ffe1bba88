"""What the web app asks the worker to do is sent once the request's rows are committed: a
commit that fails leaves no message on the (real) jobs queue, one that succeeds sends it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dramatiq
import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from web_helpers import PASSWORD, JobsQueue, post_form, unique_email

from loom_common.broker import LoomRabbitmqBroker
from loom_common.contracts import JOB_WELCOME_EMAIL, JOBS_QUEUE
from loom_common.flask_app import app_database as database
from loom_common.testing import wait_until
from loom_web.api.greetings import GREET_ACTOR
from loom_web.models import OUTBOX, GreetingRequest, User


@pytest.fixture(autouse=True)
def jobs_queue_exists(app: Flask) -> None:
    """So that "nothing on the queue" is a fact about the queue, not a missing queue."""
    dramatiq.get_broker().declare_queue(JOBS_QUEUE, ensure=True)


class CommitRefused(Exception):
    pass


@contextmanager
def failing_commits() -> Iterator[None]:
    """Every commit fails, as when the database goes away at the last moment."""

    def refuse(_session: Session) -> None:
        raise CommitRefused("the database refused the commit")

    event.listen(Session, "before_commit", refuse)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", refuse)


def _register(app: Flask, email: str) -> int:
    form = {"email": email, "name": "Grace", "password": PASSWORD, "confirm": PASSWORD}
    return int(post_form(app.test_client(), "/register", "/register", form).status_code)


def test_a_registration_whose_commit_fails_sends_no_welcome_email(
    app: Flask, jobs: JobsQueue
) -> None:
    email = unique_email("grace")
    with failing_commits():
        assert _register(app, email) == 500
    jobs.seen.extend(jobs.drain("jobs"))
    assert jobs.matching(JOB_WELCOME_EMAIL, to=email) == []
    with database(app).session() as session:
        assert session.scalar(select(User).where(User.email == email)) is None

    assert _register(app, email) == 302
    jobs.wait(JOB_WELCOME_EMAIL, to=email)


def test_a_greeting_whose_commit_fails_is_not_sent(
    app: Flask, jobs: JobsQueue, operator_headers: dict[str, str]
) -> None:
    client = app.test_client()
    with failing_commits():
        refused = client.post("/api/greetings", json={"name": "Nobody"}, headers=operator_headers)
    assert refused.status_code == 500
    jobs.seen.extend(jobs.drain("jobs"))
    assert jobs.matching(GREET_ACTOR, name="Nobody") == []

    queued = client.post("/api/greetings", json={"name": "Ada"}, headers=operator_headers)
    assert queued.status_code == 202
    message = jobs.wait(GREET_ACTOR, name="Ada")
    assert message["message_id"] == queued.json["job_id"]
    with database(app).session() as session:
        recorded = session.scalar(
            select(GreetingRequest.job_id).where(GreetingRequest.name == "Ada")
        )
    assert recorded == queued.json["job_id"]


def _sample(app: Flask, name: str, **labels: str) -> float:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    inside = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    wanted = f"{name}{{{inside}}} "
    return sum(
        float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith(wanted)
    )


def _in_outbox(app: Flask, job_id: str) -> bool:
    with database(app).session() as session:
        return session.scalar(select(OUTBOX.c.id).where(OUTBOX.c.id == job_id)) is not None


def test_a_greeting_asked_for_while_the_broker_is_away_is_sent_once_it_is_back(
    app: Flask, jobs: JobsQueue, operator_headers: dict[str, str]
) -> None:
    """The message is written with the greeting's row (the outbox): the request is accepted,
    the broker's absence counted, and the relay sends it when the broker answers again."""
    deferred = _sample(app, "loom_outbox_messages_deferred_total", queue=JOBS_QUEUE)
    relayed = _sample(app, "loom_outbox_messages_relayed_total", queue=JOBS_QUEUE)
    working = dramatiq.get_broker()
    unreachable = LoomRabbitmqBroker(url="amqp://guest:guest@127.0.0.1:1/%2F", middleware=[])
    dramatiq.set_broker(unreachable)
    try:
        accepted = app.test_client().post(
            "/api/greetings", json={"name": "Deferred"}, headers=operator_headers
        )
        assert accepted.status_code == 202
        job_id = accepted.json["job_id"]
        assert _in_outbox(app, job_id)
        assert _sample(app, "loom_outbox_messages_deferred_total", queue=JOBS_QUEUE) == deferred + 1
    finally:
        dramatiq.set_broker(working)
        unreachable.close()

    message = jobs.wait(GREET_ACTOR, name="Deferred")
    assert message["message_id"] == job_id
    wait_until(lambda: not _in_outbox(app, job_id), message="the outbox row deleted")
    assert _sample(app, "loom_outbox_messages_relayed_total", queue=JOBS_QUEUE) == relayed + 1
    jobs.seen.extend(jobs.drain("jobs"))
    assert len(jobs.matching(GREET_ACTOR, name="Deferred")) == 1


def test_a_greeting_sent_at_once_leaves_no_outbox_row(
    app: Flask, jobs: JobsQueue, operator_headers: dict[str, str]
) -> None:
    queued = app.test_client().post(
        "/api/greetings", json={"name": "Prompt"}, headers=operator_headers
    )
    assert queued.status_code == 202
    jobs.wait(GREET_ACTOR, name="Prompt")
    assert not _in_outbox(app, queued.json["job_id"])
