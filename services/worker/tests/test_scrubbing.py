"""Secrets stay out of job records (arguments, results, errors) and out of the worker's log
lines, on stdout and shipped to the logs service alike: Dramatiq's failure line quotes the
message's arguments, and the password-reset email job carries the reset URL."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import dramatiq
import pytest
from flask import Flask
from helpers import wait_for_status

from loom_common.contracts import JOB_PASSWORD_RESET_EMAIL, JOBS_QUEUE
from loom_common.testing import wait_until

Drain = Callable[[str], list[dict[str, Any]]]
RESET_TOKEN = secrets.token_urlsafe(32)


@pytest.fixture(autouse=True)
def no_dead_letters_left(actors: ModuleType, drain_queue: Drain) -> Iterator[None]:
    yield
    drain_queue(f"{JOBS_QUEUE}.XQ")


def _send(actor: str, **kwargs: Any) -> dramatiq.Message[Any]:
    # No retries: the failure is logged at once, and nothing is left to run in a later test.
    return dramatiq.get_broker().enqueue(
        dramatiq.Message(
            queue_name=JOBS_QUEUE,
            actor_name=actor,
            args=(),
            kwargs=kwargs,
            options={"max_retries": 0},
        )
    )


def test_the_failure_line_of_a_reset_email_hides_the_reset_url(
    app: Flask, worker: dramatiq.Worker, drain_queue: Drain, capfd: pytest.CaptureFixture[str]
) -> None:
    recipient = f"ada-{secrets.token_hex(4)}@example.com"
    reset_url = f"https://loom.example/password/reset/{RESET_TOKEN}"
    # No SMTP server listens in this test: the job fails and Dramatiq logs the message.
    message = _send(
        JOB_PASSWORD_RESET_EMAIL,
        to=recipient,
        name="Ada",
        reset_token_url=reset_url,
        expires_minutes=30,
    )
    wait_for_status(app, message.message_id, "dead")

    shipped: list[dict[str, Any]] = []

    def failure_line_shipped() -> bool:
        for batch in drain_queue("logs"):
            shipped.extend(batch["kwargs"]["records"])
        return any(
            "Failed to process message" in r["message"]
            for r in shipped
            if recipient in r["message"]
        )

    wait_until(failure_line_shipped, timeout=15, message="the failure line in the logs queue")
    [line] = [r["message"] for r in shipped if "Failed to process message" in r["message"]
              and recipient in r["message"]]  # fmt: skip
    assert "reset_token_url='[Filtered]'" in line
    stdout = capfd.readouterr().out
    assert "Failed to process message" in stdout
    for text in (repr(shipped), stdout):
        assert RESET_TOKEN not in text


def test_a_job_record_and_its_run_line_keep_no_secrets(
    app: Flask, worker: dramatiq.Worker, drain_queue: Drain
) -> None:
    def leaky(fail: bool) -> dict[str, str]:
        if fail:
            raise ConnectionError("cannot log in to postgresql://loom:db-secret-1@db/loom")
        return {"dsn": "https://key-secret-2@errors/1", "note": "sent Bearer bearer-secret-3"}

    dramatiq.actor(leaky, actor_name="test.leaky", queue_name=JOBS_QUEUE)

    succeeded = wait_for_status(app, _send("test.leaky", fail=False).message_id, "succeeded")
    dead = wait_for_status(app, _send("test.leaky", fail=True).message_id, "dead")

    assert succeeded["result"] == {"dsn": "[Filtered]", "note": "sent Bearer [Filtered]"}
    assert dead["error"] == "ConnectionError: cannot log in to postgresql://loom:[Filtered]@db/loom"
    run_lines: list[str] = []

    def run_line_shipped() -> bool:
        for batch in drain_queue("logs"):
            run_lines.extend(r["message"] for r in batch["kwargs"]["records"])
        return any(line.startswith("job test.leaky failed") for line in run_lines)

    wait_until(run_line_shipped, timeout=15, message="the job run line in the logs queue")
    assert not [line for line in run_lines if "secret-" in line]
