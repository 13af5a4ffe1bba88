"""The worker runs jobs from RabbitMQ and its API says what became of them."""

from __future__ import annotations

from typing import Any

import dramatiq
import pytest
from flask import Flask

from loom_common.broker import send
from loom_common.contracts import JOBS_QUEUE
from loom_common.testing import wait_until

TOKEN = {"Authorization": "Bearer dev-api-token"}


def job_of(app: Flask, job_id: str) -> dict[str, Any] | None:
    response = app.test_client().get(f"/api/jobs/{job_id}", headers=TOKEN)
    return response.json if response.status_code == 200 else None


def test_a_sent_job_runs_and_its_record_says_succeeded(app: Flask, worker: dramatiq.Worker) -> None:
    message = send(JOBS_QUEUE, "greet", name="Ada")

    job = wait_until(
        lambda: (j := job_of(app, message.message_id)) and j["status"] == "succeeded" and j,
        timeout=15,
        message="the greet job to succeed",
    )

    assert job["result"] == {"greeting": "Hello, Ada!"}
    assert job["actor"] == "greet"
    assert job["attempts"] == 1
    assert job["request_id"] == message.options["request_id"]


def test_a_poison_message_ends_dead_with_its_reason(app: Flask, worker: dramatiq.Worker) -> None:
    broker = dramatiq.get_broker()
    # The message's own max_retries wins over the actor's: no retries, straight to the dead letters.
    message = broker.enqueue(
        dramatiq.Message(
            queue_name=JOBS_QUEUE,
            actor_name="greet",
            args=(),
            kwargs={"name": ""},
            options={"max_retries": 0},
        )
    )

    job = wait_until(
        lambda: (j := job_of(app, message.message_id)) and j["status"] == "dead" and j,
        timeout=15,
        message="the poison job to be dead-lettered",
    )
    assert "ValueError" in job["error"]

    channel = broker.channel
    dead = wait_until(lambda: channel.basic_get(f"{JOBS_QUEUE}.XQ", auto_ack=True)[2], timeout=10)
    body = dramatiq.get_encoder().decode(dead)
    assert body["message_id"] == message.message_id
    assert "ValueError: greet needs a non-empty name" in body["options"]["dead_letter_reason"]
    assert "Traceback" in body["options"]["traceback"]


def test_unknown_job_is_a_404_in_the_house_format(app: Flask) -> None:
    response = app.test_client().get("/api/jobs/nope", headers=TOKEN)
    assert response.status_code == 404
    assert response.json == {"error": {"code": "not_found", "message": "no job with id nope"}}


def test_jobs_list_filters_and_pages(app: Flask, worker: dramatiq.Worker) -> None:
    sent = [send(JOBS_QUEUE, "greet", name=f"n{i}").message_id for i in range(5)]
    client = app.test_client()
    wait_until(
        lambda: all((job_of(app, i) or {}).get("status") == "succeeded" for i in sent), timeout=15
    )

    seen: list[str] = []
    cursor = None
    while True:
        query = {"actor": "greet", "status": "succeeded", "limit": 2}
        if cursor:
            query["cursor"] = cursor
        page = client.get("/api/jobs", query_string=query, headers=TOKEN).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(sent) <= set(seen)
    assert len(seen) == len(set(seen)), "pages overlap"


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"limit": "0"}, 422, "limit"),
        ({"status": "sleeping"}, 422, "status"),
        ({"cursor": "xx"}, 400, None),
    ],
)
def test_bad_list_queries_are_refused_clearly(
    app: Flask, query: dict[str, str], status: int, field: str | None
) -> None:
    response = app.test_client().get("/api/jobs", query_string=query, headers=TOKEN)
    assert response.status_code == status
    if field:
        assert field in response.json["error"]["fields"]
    else:
        assert "cursor" in response.json["error"]["message"]


def test_jobs_api_needs_the_token(app: Flask) -> None:
    response = app.test_client().get("/api/jobs")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
