"""The web app: its home page, its JSON API (hello, queueing a greeting for the worker) and the
debug route that exists only in dev and test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from loom_common.flask_app import app_database as database
from loom_common.settings import Settings
from loom_common.testing import DEPLOYED_API_TOKEN, DEPLOYED_SECRET_KEY, wait_until
from loom_web.app import create_app
from loom_web.models import GreetingRequest

Drain = Callable[[str], list[dict[str, Any]]]


def _greeting_rows(app: Flask) -> list[GreetingRequest]:
    with database(app).session() as session:
        return list(session.scalars(select(GreetingRequest)))


def test_home_page_is_html_with_the_request_id(client: FlaskClient) -> None:
    response = client.get("/", headers={"X-Request-ID": "home-req-1"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<h1>Loom</h1>" in page
    assert "home-req-1" in page


def test_hello_greets_with_the_request_id(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.get(
        "/api/hello",
        query_string={"name": "Ada"},
        headers={**operator_headers, "X-Request-ID": "hello-req-1"},
    )
    assert response.status_code == 200
    assert response.json == {"message": "Hello, Ada!", "request_id": "hello-req-1"}


def test_hello_defaults_to_the_world_and_makes_a_request_id(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.get("/api/hello", headers=operator_headers)
    assert response.status_code == 200
    assert response.json["message"] == "Hello, world!"
    assert response.json["request_id"] == response.headers["X-Request-ID"]


def test_hello_needs_the_token(client: FlaskClient) -> None:
    response = client.get("/api/hello")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_hello_refuses_a_too_long_name(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.get("/api/hello", query_string={"name": "x" * 101}, headers=operator_headers)
    assert response.status_code == 422
    assert "name" in response.json["error"]["fields"]


def test_queueing_a_greeting_sends_a_job_and_records_it(
    app: Flask, client: FlaskClient, operator_headers: dict[str, str], drain_queue: Drain
) -> None:
    response = client.post(
        "/api/greetings",
        json={"name": "Grace"},
        headers={**operator_headers, "X-Request-ID": "greet-req-1"},
    )

    assert response.status_code == 202
    body = response.json
    assert body["status"] == "queued"
    assert body["request_id"] == "greet-req-1"
    job_id = body["job_id"]
    assert job_id

    found: list[dict[str, Any]] = []

    def queued() -> bool:
        found.extend(m for m in drain_queue("jobs") if m["message_id"] == job_id)
        return bool(found)

    wait_until(queued, message="the greet job in the jobs queue")
    [message] = found
    assert message["queue_name"] == "jobs"
    assert message["actor_name"] == "greet"
    assert message["kwargs"] == {"name": "Grace"}
    assert message["options"]["request_id"] == "greet-req-1"

    [row] = _greeting_rows(app)
    assert (row.name, row.job_id, row.request_id) == ("Grace", job_id, "greet-req-1")


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "x" * 101}, {"name": 42}, {"name": ["Ada"]}, {"who": "Ada"}],
)
def test_an_invalid_greeting_is_422_naming_the_field_and_queues_nothing(
    app: Flask, client: FlaskClient, operator_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = client.post("/api/greetings", json=body, headers=operator_headers)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid"
    assert "name" in response.json["error"]["fields"]
    assert "name" in response.json["error"]["message"]
    assert _greeting_rows(app) == []


def test_a_malformed_json_greeting_is_400(
    app: Flask, client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/greetings",
        data="{'name': 'Ada'}",
        content_type="application/json",
        headers=operator_headers,
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"
    assert "JSON" in response.json["error"]["message"]
    assert _greeting_rows(app) == []


def test_greetings_need_the_token(app: Flask, client: FlaskClient) -> None:
    response = client.post("/api/greetings", json={"name": "Ada"})
    assert response.status_code == 401
    assert _greeting_rows(app) == []


def test_the_debug_route_fails_with_the_json_500(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    response = client.get("/api/debug/fail", headers=operator_headers)
    assert response.status_code == 500
    assert response.json == {
        "error": {"code": "internal_error", "message": "internal error; it has been reported"}
    }
    assert b"Traceback" not in response.data


def test_there_is_no_debug_route_in_staging(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        "web", env="staging", secret_key=DEPLOYED_SECRET_KEY, api_token=DEPLOYED_API_TOKEN
    )
    app = create_app(settings)
    try:
        response = app.test_client().get(
            "/api/debug/fail", headers={"Authorization": f"Bearer {DEPLOYED_API_TOKEN}"}
        )
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
        hello = app.test_client().get(
            "/api/hello", headers={"Authorization": f"Bearer {DEPLOYED_API_TOKEN}"}
        )
        assert hello.status_code == 200
    finally:
        database(app).dispose()


def test_the_openapi_document_lists_the_web_api(client: FlaskClient) -> None:
    document = client.get("/openapi.json").json
    assert {"/api/hello", "/api/greetings"} <= set(document["paths"])
    assert "/api/debug/fail" not in document["paths"]


def test_readyz_checks_the_broker_and_the_database(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"broker": "ok", "database": "ok"}
