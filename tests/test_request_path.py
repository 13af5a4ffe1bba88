"""One request id, followed across all four services through RabbitMQ."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from conftest import Stack

from loom_common.settings import DEFAULT_API_TOKEN
from loom_common.testing import csrf_token, wait_until


def new_request_id() -> str:
    return f"it-{uuid.uuid4().hex}"


def test_a_web_request_enqueues_a_job_that_the_worker_runs(stack: Stack) -> None:
    request_id = new_request_id()
    response = stack.post(
        "web",
        "/api/greetings",
        json={"name": "Ada"},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == request_id
    job_id = response.json()["job_id"]

    def job_succeeded() -> dict[str, Any] | None:
        reply = stack.get("worker", f"/api/jobs/{job_id}")
        return (
            reply.json()
            if reply.status_code == 200 and reply.json()["status"] == "succeeded"
            else None
        )

    job = wait_until(job_succeeded, timeout=30, message="the worker to run the job")
    assert job["result"] == {"greeting": "Hello, Ada!"}
    assert job["request_id"] == request_id


def test_an_exception_in_a_web_route_reaches_the_errors_service(stack: Stack) -> None:
    request_id = new_request_id()
    response = stack.get("web", "/api/debug/fail", headers={"X-Request-ID": request_id})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "Traceback" not in response.text

    def issue_for_request() -> dict[str, Any] | None:
        items = stack.get("errors", "/api/issues", params={"request_id": request_id}).json()[
            "items"
        ]
        return items[0] if items else None

    issue = wait_until(issue_for_request, timeout=30, message="the error to be stored")
    assert "RuntimeError" in issue["title"]
    assert issue["service"] == "web"
    events = stack.get("errors", f"/api/issues/{issue['id']}/events").json()["items"]
    event = next(e for e in events if e["request_id"] == request_id)
    payload = event["payload"]
    assert payload["exception"]["values"][-1]["type"] == "RuntimeError"
    assert payload["request"]["url"].endswith("/api/debug/fail")
    assert payload["request"]["headers"].get("Authorization") in (None, "[Filtered]")
    frames = payload["exception"]["values"][-1]["stacktrace"]["frames"]
    assert any(f["in_app"] and f["function"] == "fail" for f in frames)

    # The logs service's page of that request links straight to the issue.
    operator = requests.Session()
    login = operator.get(stack.urls["logs"] + "/login", timeout=10).text
    signed_in = operator.post(
        stack.urls["logs"] + "/login",
        data={"token": DEFAULT_API_TOKEN, "csrf_token": csrf_token(login)},
        timeout=10,
    )
    assert signed_in.status_code == 200, signed_in.text
    request_page = operator.get(stack.urls["logs"] + f"/requests/{request_id}", timeout=10).text
    issue_url = f"{stack.urls['errors']}/issues/{issue['id']}"
    assert f'class="issue-link" href="{issue_url}"' in request_page


def test_a_log_line_of_a_web_request_is_found_by_its_request_id(stack: Stack) -> None:
    request_id = new_request_id()
    response = stack.get(
        "web",
        "/api/hello",
        params={"name": "Grace"},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 200

    def web_lines() -> list[dict[str, Any]]:
        items = stack.get("logs", "/api/logs", params={"request_id": request_id}).json()["items"]
        return [item for item in items if item["service"] == "web"]

    lines = wait_until(web_lines, timeout=30, message="web's access line in the logs service")
    assert any("/api/hello" in line["message"] for line in lines)
    assert all(line["request_id"] == request_id for line in lines)


def test_every_service_answers_the_common_endpoints(stack: Stack) -> None:
    for service in stack.urls:
        assert stack.get(service, "/healthz").json()["status"] == "ok"
        assert stack.get(service, "/readyz").json()["status"] == "ready"
        assert "openapi" in stack.get(service, "/openapi.json").json()
        metrics = stack.get(service, "/metrics").text
        assert "loom_http_requests_total" in metrics
        assert "loom_log_records_dropped_total" in metrics
