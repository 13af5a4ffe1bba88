"""The same job message delivered twice runs once: a publisher's second copy of a message
(same id, not flagged as redelivered) and RabbitMQ's real redelivery of an unacked message."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import dramatiq
import pika
import pytest
from dramatiq.middleware import CurrentMessage
from flask import Flask
from helpers import job_of, metric, wait_for_status
from sqlalchemy import update

from loom_common.contracts import JOBS_QUEUE
from loom_common.db import Database
from loom_common.migrations import upgrade
from loom_common.testing import temporary_postgres_database, wait_until
from loom_worker.job_claims import claim_job
from loom_worker.models import Job

SKIPPED = "loom_worker_jobs_skipped_total"


class Runs:
    """A job of this test: it counts its runs and whether RabbitMQ flagged each redelivered."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []
        self.lock = threading.Lock()

    def __call__(self, marker: str) -> None:
        message = CurrentMessage.get_current_message()
        with self.lock:
            self.seen.append((marker, bool(getattr(message, "redelivered", None))))

    def of(self, marker: str) -> list[bool]:
        with self.lock:
            return [redelivered for seen, redelivered in self.seen if seen == marker]


@pytest.fixture
def counted(actors: ModuleType) -> Iterator[tuple[dramatiq.Actor[Any, Any], Runs]]:
    runs = Runs()
    actor = dramatiq.actor(
        runs, actor_name=f"tests.counted_{secrets.token_hex(3)}", queue_name=JOBS_QUEUE
    )
    running = dramatiq.Worker(dramatiq.get_broker(), queues={JOBS_QUEUE}, worker_threads=2)
    running.start()
    yield actor, runs
    running.stop()


def skipped(app: Flask) -> float:
    return sum(
        metric(app, SKIPPED, reason=reason)
        for reason in ("already_succeeded", "already_failed", "already_dead", "running_elsewhere")
    )


def test_a_message_published_twice_runs_once(
    app: Flask, counted: tuple[dramatiq.Actor[Any, Any], Runs]
) -> None:
    actor, runs = counted
    before = skipped(app)
    message = actor.message("twice")
    broker = dramatiq.get_broker()

    broker.enqueue(message)
    broker.enqueue(message)  # what a publisher does when its confirm was lost

    wait_until(lambda: skipped(app) == before + 1, timeout=20)
    job = wait_for_status(app, message.message_id, "succeeded")
    assert runs.of("twice") == [False]
    assert job["attempts"] == 1


def take_without_ack(broker_url: str, message_id: str) -> None:
    """Take the job's message off the queue and close the channel without acking it, as a
    worker that died holding it would: RabbitMQ puts it back, flagged as redelivered."""
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    channel = connection.channel()
    for _ in range(1000):  # others' messages taken along go back the same way
        method, _properties, body = channel.basic_get(JOBS_QUEUE, auto_ack=False)
        assert method is not None, f"message {message_id} is on the queue"
        if message_id.encode() in body:
            break
    channel.close()
    connection.close()


def test_a_job_redelivered_while_running_runs_again_as_a_new_attempt(
    app: Flask, actors: ModuleType, broker_url: str
) -> None:
    runs = Runs()
    actor = dramatiq.actor(
        runs, actor_name=f"tests.counted_{secrets.token_hex(3)}", queue_name=JOBS_QUEUE
    )
    message = actor.send("redelivered")
    # The worker that took it claimed it (the record says running) and died before its ack.
    claim_job(actors.database, _not_redelivered(message), {"actor": actor.actor_name,
              "queue": JOBS_QUEUE, "arguments": {}, "request_id": None})  # fmt: skip
    take_without_ack(broker_url, message.message_id)

    running = dramatiq.Worker(dramatiq.get_broker(), queues={JOBS_QUEUE}, worker_threads=2)
    running.start()
    try:
        job = wait_for_status(app, message.message_id, "succeeded")
    finally:
        running.stop()
    assert runs.of("redelivered") == [True]
    assert job["attempts"] == 2


@pytest.mark.parametrize("finished", ["succeeded", "failed", "dead"])
def test_a_finished_job_redelivered_is_acked_without_running(
    app: Flask, actors: ModuleType, broker_url: str, finished: str
) -> None:
    runs = Runs()
    actor = dramatiq.actor(
        runs, actor_name=f"tests.counted_{secrets.token_hex(3)}", queue_name=JOBS_QUEUE
    )
    before = metric(app, SKIPPED, reason=f"already_{finished}")
    message = actor.send("finished")
    claim_job(actors.database, _not_redelivered(message), {"actor": actor.actor_name,
              "queue": JOBS_QUEUE, "arguments": {}, "request_id": None})  # fmt: skip
    with actors.database.session() as session:
        session.execute(update(Job).where(Job.id == message.message_id).values(status=finished))
    take_without_ack(broker_url, message.message_id)

    running = dramatiq.Worker(dramatiq.get_broker(), queues={JOBS_QUEUE}, worker_threads=2)
    running.start()
    try:
        wait_until(lambda: metric(app, SKIPPED, reason=f"already_{finished}") == before + 1)
        running.join()  # the queue is drained: nothing is left to run later
    finally:
        running.stop()
    assert runs.of("finished") == []
    assert (job_of(app, message.message_id) or {})["status"] == finished


class _Fresh:
    def __init__(self, message: Any, redelivered: bool) -> None:
        self.message_id = message.message_id
        self.redelivered = redelivered


def _not_redelivered(message: Any) -> Any:
    return _Fresh(message, redelivered=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def claims_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'claims.db'}"
        upgrade("worker", url)
        yield Database(url)
        return
    with temporary_postgres_database() as url:
        upgrade("worker", url)
        database = Database(url)
        yield database
        database.engine.dispose()


def test_claims_decide_by_the_record_on_both_databases(claims_database: Database) -> None:
    record = {"actor": "a", "queue": JOBS_QUEUE, "arguments": {}, "request_id": None}
    message = _Fresh(dramatiq.Message(JOBS_QUEUE, "a", (), {}, {}), redelivered=False)

    def claim(redelivered: bool) -> str:
        return claim_job(claims_database, _Fresh(message, redelivered), record)

    assert claim(False) == "claimed"  # no record yet: made, running
    assert claim(False) == "running_elsewhere"  # a second copy while the first runs
    assert claim(True) == "claimed"  # redelivered: its worker died, a new attempt
    with claims_database.session() as session:
        job = session.get(Job, message.message_id)
        assert job is not None and (job.status, job.attempts) == ("running", 2)
        job.status = "retrying"
    assert claim(False) == "claimed"
    for finished in ("succeeded", "failed", "dead"):
        with claims_database.session() as session:
            session.execute(update(Job).values(status=finished))
        assert claim(True) == finished
        assert claim(False) == finished
    with claims_database.session() as session:
        job = session.get(Job, message.message_id)
        assert job is not None and job.attempts == 3
