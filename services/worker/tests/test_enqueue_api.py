"""POST /api/jobs: a known job, validated arguments, a record before the message, idempotency."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from helpers import TOKEN, enqueue, job_of, metric

from loom_common.contracts import JOB_PASSWORD_RESET_EMAIL, JOB_WELCOME_EMAIL, JOBS_QUEUE

Drain = Callable[[str], list[dict[str, Any]]]
WELCOME = {"to": "ada@example.com", "name": "Ada"}


@pytest.fixture(autouse=True)
def nothing_left_queued(actors: ModuleType, drain_queue: Drain) -> Iterator[None]:
    """No worker runs here: what these tests enqueue must not reach another test's worker."""
    yield
    drain_queue(JOBS_QUEUE)


def test_a_known_job_is_recorded_as_queued_and_sent(app: Flask, drain_queue: Drain) -> None:
    response = enqueue(app, JOB_WELCOME_EMAIL, WELCOME, **{"X-Request-ID": "req-enqueue-1"})

    assert response.status_code == 202
    job = response.json
    assert job["status"] == "queued" and job["attempts"] == 0
    assert job["request_id"] == "req-enqueue-1"
    assert job_of(app, job["id"])["status"] == "queued"
    sent = [m for m in drain_queue(JOBS_QUEUE) if m["message_id"] == job["id"]]
    assert len(sent) == 1
    assert sent[0]["actor_name"] == JOB_WELCOME_EMAIL
    assert sent[0]["kwargs"] == WELCOME
    assert sent[0]["options"]["request_id"] == "req-enqueue-1"


def test_secrets_in_arguments_are_scrubbed_from_the_record_not_the_message(
    app: Flask, drain_queue: Drain
) -> None:
    args = {
        "to": "ada@example.com",
        "name": "Ada",
        "reset_token_url": "https://loom.example/reset/s3cr3t-token",
        "expires_minutes": 30,
    }
    job = enqueue(app, JOB_PASSWORD_RESET_EMAIL, args).json

    assert job["arguments"]["kwargs"]["reset_token_url"] == "[Filtered]"
    assert "s3cr3t" not in str(job_of(app, job["id"]))
    sent = [m for m in drain_queue(JOBS_QUEUE) if m["message_id"] == job["id"]]
    assert sent[0]["kwargs"]["reset_token_url"].endswith("s3cr3t-token")


def test_unknown_job_name_is_404(app: Flask) -> None:
    before = metric(app, "loom_worker_jobs_refused_total", reason="unknown_job")
    response = enqueue(app, "emails.nope", {})
    assert response.status_code == 404
    assert response.json["error"]["message"] == "no job named 'emails.nope'"
    assert metric(app, "loom_worker_jobs_refused_total", reason="unknown_job") == before + 1


def test_bad_arguments_are_422_naming_each_field(app: Flask) -> None:
    response = enqueue(app, JOB_WELCOME_EMAIL, {"to": "not-an-address", "nmae": "Ada"})
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert set(fields) == {"args.to", "args.name", "args.nmae"}
    assert "takes no argument 'nmae'" in fields["args.nmae"]
    assert "args.to" in response.json["error"]["message"]


def test_a_header_injection_attempt_in_a_name_is_422(app: Flask) -> None:
    response = enqueue(app, JOB_WELCOME_EMAIL, {"to": "a@example.com", "name": "Ada\r\nBcc: x@y"})
    assert response.status_code == 422
    assert "args.name" in response.json["error"]["fields"]


def test_a_missing_job_name_is_422(app: Flask) -> None:
    response = app.test_client().post("/api/jobs", json={"args": {}}, headers=TOKEN)
    assert response.status_code == 422
    assert "name" in response.json["error"]["fields"]


def test_a_body_over_the_limit_is_413(app: Flask) -> None:
    before = metric(app, "loom_worker_jobs_refused_total", reason="too_large")
    response = enqueue(app, JOB_WELCOME_EMAIL, {"to": "a@example.com", "name": "x" * 100_000})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    assert metric(app, "loom_worker_jobs_refused_total", reason="too_large") == before + 1


def test_an_idempotency_key_returns_the_same_job_on_repeat(app: Flask, drain_queue: Drain) -> None:
    first = enqueue(app, JOB_WELCOME_EMAIL, WELCOME, **{"Idempotency-Key": "signup-42"})
    again = enqueue(app, JOB_WELCOME_EMAIL, WELCOME, **{"Idempotency-Key": "signup-42"})

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json["id"] == first.json["id"]
    sent = [m for m in drain_queue(JOBS_QUEUE) if m["message_id"] == first.json["id"]]
    assert len(sent) == 1, "the repeat must not send a second message"


def test_an_idempotency_key_reused_with_other_arguments_is_409(app: Flask) -> None:
    enqueue(app, JOB_WELCOME_EMAIL, WELCOME, **{"Idempotency-Key": "signup-43"})
    other = enqueue(
        app, JOB_WELCOME_EMAIL, {**WELCOME, "name": "Grace"}, **{"Idempotency-Key": "signup-43"}
    )
    assert other.status_code == 409
    assert "signup-43" in other.json["error"]["message"]


def test_a_malformed_idempotency_key_is_422(app: Flask) -> None:
    response = enqueue(app, JOB_WELCOME_EMAIL, WELCOME, **{"Idempotency-Key": "x" * 300})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["error"]["fields"]


def test_enqueue_needs_the_token(app: Flask) -> None:
    response = app.test_client().post("/api/jobs", json={"name": "greet", "args": {"name": "A"}})
    assert response.status_code == 401
