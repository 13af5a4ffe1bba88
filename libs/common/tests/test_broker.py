"""Messages between services: the request id travels with every message into the actor,
failures end dead-lettered with their reason, and every run leaves one log record."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import pytest

from loom_common.broker import LoomRabbitmqBroker, send
from loom_common.request_context import request_id_var
from loom_common.testing import wait_until

Drain = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def queue() -> str:
    return f"q-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def run_worker(broker: LoomRabbitmqBroker) -> Iterator[Callable[[str], dramatiq.Worker]]:
    started: list[dramatiq.Worker] = []

    def start(queue: str) -> dramatiq.Worker:
        worker = dramatiq.Worker(broker, queues={queue}, worker_threads=1, worker_timeout=100)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _job_runs(records: list[dict[str, Any]], actor: str) -> list[dict[str, Any]]:
    return [
        r["extra"] for r in records if r["extra"].get("actor") == actor and "outcome" in r["extra"]
    ]


def test_send_stamps_the_current_request_id(
    broker: LoomRabbitmqBroker, queue: str, drain_queue: Drain
) -> None:
    token = request_id_var.set("req-from-the-web")
    try:
        message = send(queue, "somewhere.else", name="Ada")
    finally:
        request_id_var.reset(token)

    assert message.options["request_id"] == "req-from-the-web"
    waiting = wait_until(lambda: drain_queue(queue), message="the message in its queue")
    assert [m["message_id"] for m in waiting] == [message.message_id]
    assert waiting[0]["actor_name"] == "somewhere.else"
    assert waiting[0]["kwargs"] == {"name": "Ada"}
    assert waiting[0]["options"]["request_id"] == "req-from-the-web"


def test_send_outside_a_request_makes_a_new_request_id(
    broker: LoomRabbitmqBroker, queue: str
) -> None:
    assert request_id_var.get() is None
    first = send(queue, "somewhere.else")
    second = send(queue, "somewhere.else")
    assert first.options["request_id"]
    assert second.options["request_id"]
    assert first.options["request_id"] != second.options["request_id"]


def test_the_actor_runs_under_the_senders_request_id(
    broker: LoomRabbitmqBroker,
    queue: str,
    run_worker: Callable[[str], dramatiq.Worker],
    drain_queue: Drain,
) -> None:
    seen: list[str | None] = []
    onward_queue = f"{queue}-onward"

    def remember(name: str) -> None:
        seen.append(request_id_var.get())
        send(onward_queue, "somewhere.else", name=name)  # the actor's own message

    dramatiq.actor(remember, actor_name=f"remember-{queue}", queue_name=queue, broker=broker)
    run_worker(queue)

    token = request_id_var.set("req-followed")
    try:
        send(queue, f"remember-{queue}", name="Ada")
    finally:
        request_id_var.reset(token)

    wait_until(lambda: seen, message="the actor to run")
    assert seen == ["req-followed"]
    onward = wait_until(lambda: drain_queue(onward_queue), message="the actor's own message")
    assert onward[0]["options"]["request_id"] == "req-followed"


def test_a_failing_actor_ends_dead_lettered_with_its_reason(
    broker: LoomRabbitmqBroker,
    queue: str,
    run_worker: Callable[[str], dramatiq.Worker],
    drain_queue: Drain,
    log_records: list[dict[str, Any]],
) -> None:
    actor_name = f"doomed-{queue}"

    def doomed(name: str) -> None:
        raise ValueError(f"no greeting for {name}")

    dramatiq.actor(doomed, actor_name=actor_name, queue_name=queue, broker=broker, max_retries=0)
    run_worker(queue)
    message = send(queue, actor_name, name="Bob")

    dead = wait_until(lambda: drain_queue(f"{queue}.XQ"), message="the dead-lettered message")
    assert [m["message_id"] for m in dead] == [message.message_id]
    assert "ValueError: no greeting for Bob" in dead[0]["options"]["dead_letter_reason"]
    assert dead[0]["kwargs"] == {"name": "Bob"}

    runs = wait_until(lambda: _job_runs(log_records, actor_name), message="the job-run record")
    assert [run["outcome"] for run in runs] == ["failed"]


def test_each_run_leaves_one_job_record(
    broker: LoomRabbitmqBroker,
    queue: str,
    run_worker: Callable[[str], dramatiq.Worker],
    log_records: list[dict[str, Any]],
) -> None:
    actor_name = f"fine-{queue}"
    done: list[str] = []

    def fine(word: str) -> None:
        done.append(word)

    dramatiq.actor(fine, actor_name=actor_name, queue_name=queue, broker=broker)
    worker = run_worker(queue)

    send(queue, actor_name, word="only")
    wait_until(lambda: _job_runs(log_records, actor_name), message="the job-run record")
    worker.join()

    runs = _job_runs(log_records, actor_name)
    assert len(runs) == 1
    assert runs[0]["outcome"] == "succeeded"
    assert isinstance(runs[0]["duration_ms"], float | int)
    assert runs[0]["duration_ms"] >= 0
    assert done == ["only"]


def test_a_retried_run_says_retrying_then_failed(
    broker: LoomRabbitmqBroker,
    queue: str,
    run_worker: Callable[[str], dramatiq.Worker],
    log_records: list[dict[str, Any]],
) -> None:
    actor_name = f"flaky-{queue}"

    def flaky() -> None:
        raise RuntimeError("still broken")

    dramatiq.actor(
        flaky,
        actor_name=actor_name,
        queue_name=queue,
        broker=broker,
        max_retries=1,
        min_backoff=10,
        max_backoff=20,
    )
    run_worker(queue)
    send(queue, actor_name)

    wait_until(lambda: len(_job_runs(log_records, actor_name)) == 2, timeout=20)
    assert [run["outcome"] for run in _job_runs(log_records, actor_name)] == [
        "retrying",
        "failed",
    ]
