"""Retries end in the dead letters with a reason; the queues API shows and moves them."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import dramatiq
import pika
import pytest
from flask import Flask
from helpers import TOKEN, metric, wait_for_status

from loom_common.contracts import JOB_WELCOME_EMAIL, JOBS_QUEUE
from loom_common.testing import wait_until

Drain = Callable[[str], list[dict[str, Any]]]


def send_message(kwargs: dict[str, Any], actor: str, **options: Any) -> Any:
    return dramatiq.get_broker().enqueue(
        dramatiq.Message(
            queue_name=JOBS_QUEUE, actor_name=actor, args=(), kwargs=kwargs, options=options
        )
    )


def test_invalid_arguments_from_a_sender_fail_at_once_without_retries(
    app: Flask, worker: dramatiq.Worker, drain_queue: Drain
) -> None:
    message = send_message({"to": "nobody", "name": "X"}, JOB_WELCOME_EMAIL)

    job = wait_for_status(app, message.message_id, "failed")
    assert job["attempts"] == 1
    assert job["error"].startswith("InvalidJobArguments: to:")
    dead = wait_until(lambda: drain_queue(f"{JOBS_QUEUE}.XQ"), timeout=10)
    assert [d["message_id"] for d in dead] == [message.message_id]


def dead_letter(broker_url: str, message_id: str, name: str) -> None:
    """A greet message as the dead-letter consumer leaves it, straight into jobs.XQ."""
    body = dramatiq.get_encoder().encode(
        {
            "queue_name": JOBS_QUEUE, "actor_name": "greet", "args": [], "kwargs": {"name": name},
            "options": {"retries": 4, "traceback": "Traceback ...", "dead_letter_reason": "boom",
                        "request_id": "req-dl"},
            "message_id": message_id, "message_timestamp": 0,
        }
    )  # fmt: skip
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        channel.basic_publish("", f"{JOBS_QUEUE}.XQ", body, pika.BasicProperties(delivery_mode=2))
    finally:
        connection.close()


def queue_row(app: Flask, name: str) -> dict[str, Any] | None:
    response = app.test_client().get("/api/queues", headers=TOKEN)
    assert response.status_code == 200
    return next((q for q in response.json["items"] if q["name"] == name), None)


def test_queues_api_counts_requeues_and_purges_dead_letters(
    app: Flask, actors: ModuleType, broker_url: str, drain_queue: Drain
) -> None:
    drain_queue(f"{JOBS_QUEUE}.XQ")
    for n in range(3):
        dead_letter(broker_url, f"dl-{n}", f"n{n}")

    # The management API refreshes its figures every few seconds.
    jobs = wait_until(
        lambda: (q := queue_row(app, JOBS_QUEUE)) and q["dead_letters"] == 3 and q, timeout=30
    )
    assert set(jobs) == {"name", "ready", "unacknowledged", "consumers", "delayed", "dead_letters"}

    client = app.test_client()
    requeued = client.post(f"/api/queues/{JOBS_QUEUE}/dead-letters/requeue", headers=TOKEN)
    assert requeued.json == {"queue": JOBS_QUEUE, "requeued": 3}
    moved = drain_queue(JOBS_QUEUE)
    assert sorted(m["message_id"] for m in moved) == ["dl-0", "dl-1", "dl-2"]
    assert all("retries" not in m["options"] and "traceback" not in m["options"] for m in moved)
    assert moved[0]["options"]["request_id"] == "req-dl"
    assert metric(app, "loom_worker_dead_letters_requeued_total", queue=JOBS_QUEUE) >= 3

    for n in range(2):
        dead_letter(broker_url, f"dl-purge-{n}", "x")
    purged = client.delete(f"/api/queues/{JOBS_QUEUE}/dead-letters", headers=TOKEN)
    assert purged.json == {"queue": JOBS_QUEUE, "purged": 2}
    assert drain_queue(f"{JOBS_QUEUE}.XQ") == []


def test_a_requeued_dead_job_runs_again_and_succeeds(
    app: Flask, broker_url: str, worker: dramatiq.Worker, drain_queue: Drain
) -> None:
    # First make a real dead job: an empty name fails, no retries.
    message = send_message({"name": ""}, "greet", max_retries=0)
    wait_for_status(app, message.message_id, "dead")
    dead = wait_until(lambda: drain_queue(f"{JOBS_QUEUE}.XQ"), timeout=10)
    # An operator fixes the cause (here: the payload) and requeues.
    dead_letter(broker_url, message.message_id, "Fixed")
    assert dead[0]["message_id"] == message.message_id

    response = app.test_client().post(
        f"/api/queues/{JOBS_QUEUE}/dead-letters/requeue", headers=TOKEN
    )
    assert response.json["requeued"] == 1
    job = wait_for_status(app, message.message_id, "succeeded")
    assert job["result"] == {"greeting": "Hello, Fixed!"}
    assert job["attempts"] == 2


@pytest.mark.parametrize("name", ["no-such-queue", "jobs.XQ"])
def test_dead_letters_of_an_unknown_queue_are_404(app: Flask, name: str) -> None:
    client = app.test_client()
    for response in (
        client.post(f"/api/queues/{name}/dead-letters/requeue", headers=TOKEN),
        client.delete(f"/api/queues/{name}/dead-letters", headers=TOKEN),
    ):
        assert response.status_code == 404
        assert response.json["error"]["message"] == f"no queue named {name!r}"


def test_queues_api_needs_the_token(app: Flask) -> None:
    assert app.test_client().get("/api/queues").status_code == 401
