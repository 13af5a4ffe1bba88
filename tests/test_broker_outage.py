"""RabbitMQ goes away and comes back: the services say so, wait, and lose nothing."""

from __future__ import annotations

import uuid
from typing import Any

from conftest import Stack, broker_stopped

from loom_common.testing import wait_until


def test_nothing_logged_or_captured_during_an_outage_is_lost(stack: Stack) -> None:
    log_request_id = f"outage-log-{uuid.uuid4().hex}"
    error_request_id = f"outage-error-{uuid.uuid4().hex}"

    with broker_stopped():

        def web_readiness() -> dict[str, Any] | None:
            reply = stack.get("web", "/readyz")
            return reply.json() if reply.status_code == 503 else None

        readiness = wait_until(
            web_readiness, timeout=15, message="web /readyz to report the broker down"
        )
        assert "broker" in readiness["down"]
        assert "broker" in readiness["error"]["message"]

        hello = stack.get("web", "/api/hello", headers={"X-Request-ID": log_request_id})
        assert hello.status_code == 200
        failure = stack.get("web", "/api/debug/fail", headers={"X-Request-ID": error_request_id})
        assert failure.status_code == 500
        # Kept in web's outbox with the greeting's row: accepted, and sent once RabbitMQ is back.
        queued = stack.post("web", "/api/greetings", json={"name": "Ada"})
        assert queued.status_code == 202

    wait_until(
        lambda: stack.get("web", "/readyz").status_code == 200,
        timeout=30,
        message="web ready again",
    )
    wait_until(
        lambda: (
            stack.get("worker", f"/api/jobs/{queued.json()['job_id']}").json().get("status")
            == "succeeded"
        ),
        timeout=60,
        message="the greeting asked for during the outage to run",
    )
    lines = wait_until(
        lambda: stack.get("logs", "/api/logs", params={"request_id": log_request_id}).json()[
            "items"
        ],
        timeout=90,
        message="the log lines written during the outage",
    )
    assert any("/api/hello" in line["message"] for line in lines)
    issues = wait_until(
        lambda: stack.get("errors", "/api/issues", params={"request_id": error_request_id}).json()[
            "items"
        ],
        timeout=90,
        message="the error captured during the outage",
    )
    assert "RuntimeError" in issues[0]["title"]
