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
from loom_web.api.greetings import GREET_ACTOR
from loom_web.models import GreetingRequest, User


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


def _unsent(app: Flask) -> float:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    wanted = f'loom_messages_unsent_total{{actor="{GREET_ACTOR}",queue="{JOBS_QUEUE}"}}'
    return sum(
        float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith(wanted)
    )


def test_a_greeting_the_broker_does_not_take_is_a_503_counted_on_metrics(
    app: Flask, operator_headers: dict[str, str]
) -> None:
    """The row is committed before the publish: the answer says so instead of 202, and the
    lost message is counted (there is no outbox to send it later)."""
    before = _unsent(app)
    working = dramatiq.get_broker()
    unreachable = LoomRabbitmqBroker(url="amqp://guest:guest@127.0.0.1:1/%2F", middleware=[])
    dramatiq.set_broker(unreachable)
    try:
        refused = app.test_client().post(
            "/api/greetings", json={"name": "Unqueued"}, headers=operator_headers
        )
    finally:
        dramatiq.set_broker(working)
        unreachable.close()

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert refused.json["error"]["code"] == "broker_unavailable"
    assert "saved" in refused.json["error"]["message"]
    assert _unsent(app) == before + 1
    with database(app).session() as session:
        assert session.scalar(select(GreetingRequest).where(GreetingRequest.name == "Unqueued"))
