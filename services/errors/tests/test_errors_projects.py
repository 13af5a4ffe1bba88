"""Projects and DSN keys: the JSON API and the Flask CLI (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.flask_app import app_database
from loom_common.settings import Settings
from loom_errors.app import create_app


@pytest.fixture
def app(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Flask]:
    settings = make_settings(
        "errors",
        ship_logs=False,
        capture_errors=False,
        errors_database_url=database_url,
        errors_url="http://errors.example:8002",
    )
    app = create_app(settings)
    yield app
    app_database(app).dispose()


@pytest.fixture
def client(app: Flask, operator_headers: dict[str, str]) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = operator_headers["Authorization"]
    return client


def test_the_default_project_exists_after_migrations(client: FlaskClient) -> None:
    response = client.get("/api/projects")

    assert response.status_code == 200
    assert response.json is not None
    assert [(p["id"], p["name"]) for p in response.json["items"]] == [(1, "loom")]


def test_a_project_gets_keys_whose_dsn_names_it(client: FlaskClient) -> None:
    created = client.post("/api/projects", json={"name": "shop"})
    assert created.status_code == 201
    assert created.json is not None
    project_id = created.json["id"]
    assert project_id == 2

    key = client.post(f"/api/projects/{project_id}/keys")

    assert key.status_code == 201
    assert key.json is not None
    dsn = urlsplit(key.json["dsn"])
    assert (dsn.scheme, dsn.hostname, dsn.port, dsn.path) == (
        "http",
        "errors.example",
        8002,
        f"/{project_id}",
    )
    assert dsn.username == key.json["public_key"]
    listed = client.get(f"/api/projects/{project_id}/keys").json
    assert listed is not None
    assert [item["public_key"] for item in listed["items"]] == [key.json["public_key"]]


def test_a_revoked_key_is_listed_with_its_revocation_time(client: FlaskClient) -> None:
    key = client.post("/api/projects/1/keys").json
    assert key is not None

    revoked = client.delete(f"/api/keys/{key['public_key']}")

    assert revoked.status_code == 200
    assert revoked.json is not None
    assert revoked.json["revoked_at"] is not None
    listed = client.get("/api/projects/1/keys").json
    assert listed is not None
    assert listed["items"][0]["revoked_at"] == revoked.json["revoked_at"]
    assert client.delete("/api/keys/nope").status_code == 404


def test_project_mistakes_get_clear_errors(client: FlaskClient, app: Flask) -> None:
    duplicate = client.post("/api/projects", json={"name": "loom"})
    nameless = client.post("/api/projects", json={"name": ""})
    missing = client.post("/api/projects/99/keys")
    anonymous = app.test_client().post("/api/projects", json={"name": "x"})

    assert duplicate.status_code == 409
    assert duplicate.json == {
        "error": {"code": "conflict", "message": "a project named 'loom' exists already"}
    }
    assert nameless.status_code == 422
    assert nameless.json is not None
    assert "name" in nameless.json["error"]["fields"]
    assert missing.status_code == 404
    assert anonymous.status_code == 401


def test_alert_settings_are_validated_and_kept(client: FlaskClient) -> None:
    bad_email = client.put("/api/projects/1/alerts", json={"recipients": ["not-an-email"]})
    half_rule = client.put(
        "/api/projects/1/alerts", json={"recipients": ["a@example.com"], "event_threshold": 5}
    )
    good = client.put(
        "/api/projects/1/alerts",
        json={
            "recipients": ["ops@example.com", "dev@example.com"],
            "event_threshold": 5,
            "threshold_minutes": 10,
        },
    )

    assert bad_email.status_code == 422
    assert half_rule.status_code == 422
    assert good.status_code == 200
    assert good.json is not None
    assert good.json["alert_recipients"] == ["dev@example.com", "ops@example.com"]
    assert (good.json["alert_event_threshold"], good.json["alert_threshold_minutes"]) == (5, 10)


def test_the_cli_manages_projects_and_keys(app: Flask, client: FlaskClient) -> None:
    runner = app.test_cli_runner()

    created = runner.invoke(args=["projects", "create", "billing"])
    listed = runner.invoke(args=["projects", "list"])
    again = runner.invoke(args=["projects", "create", "billing"])

    assert created.exit_code == 0, created.output
    dsn = urlsplit(created.output.strip())
    assert dsn.path == "/2"
    assert listed.output.splitlines() == ["1\tloom", "2\tbilling"]
    assert again.exit_code != 0
    assert "exists already" in again.output

    extra = runner.invoke(args=["keys", "create", "2"])
    assert extra.exit_code == 0
    extra_key = urlsplit(extra.output.strip()).username
    revoked = runner.invoke(args=["keys", "revoke", str(extra_key)])
    assert revoked.exit_code == 0
    keys = client.get("/api/projects/2/keys").json
    assert keys is not None
    assert [item["revoked_at"] is not None for item in keys["items"]] == [False, True]
    assert runner.invoke(args=["keys", "create", "42"]).exit_code != 0


def test_the_default_dsn_is_made_once_and_then_repeated(app: Flask) -> None:
    runner = app.test_cli_runner()

    first = runner.invoke(args=["projects", "dsn-default"])
    second = runner.invoke(args=["projects", "dsn-default"])

    assert first.exit_code == 0, first.output
    assert first.output == second.output
    assert urlsplit(first.output.strip()).path == "/1"


def test_the_openapi_document_describes_projects_keys_ingest_and_status(
    client: FlaskClient,
) -> None:
    document = client.get("/openapi.json").json

    assert document is not None
    paths = document["paths"]
    assert {
        "/api/projects",
        "/api/projects/{project_id}/keys",
        "/api/projects/{project_id}/alerts",
        "/api/keys/{public_key}",
        "/api/{project_id}/envelope/",
        "/api/{project_id}/store/",
    } <= set(paths)
    assert "patch" in paths["/api/issues/{issue_id}"]
    # Ingest is authenticated by the DSN key, not the operator's bearer token.
    assert paths["/api/{project_id}/envelope/"]["post"].get("security") == []
    sorts = {p["name"]: p for p in paths["/api/issues"]["get"]["parameters"]}
    assert {"sort", "release", "project"} <= set(sorts)
