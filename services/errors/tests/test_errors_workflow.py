"""The issue workflow and its queries: status changes, regressions, affected users, filters
whose counts follow them, sorting, the per-issue cap on stored events, and retention."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from loom_common.flask_app import app_database as database
from loom_common.settings import Settings
from loom_errors.app import create_app
from loom_errors.config import ErrorsConfig
from loom_errors.ingest.sentry_event import parse_event
from loom_errors.issues.retention import enforce_retention
from loom_errors.models import Event, Issue
from loom_errors.store.events import record_event, store_event
from loom_errors.store.grouping import grouping_components

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Flask]:
    settings = make_settings(
        "errors", ship_logs=False, capture_errors=False, errors_database_url=database_url
    )
    app = create_app(settings)
    yield app
    database(app).dispose()


@pytest.fixture
def client(app: Flask, operator_headers: dict[str, str]) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = operator_headers["Authorization"]
    return client


def event(text: str, minutes: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": (NOON + timedelta(minutes=minutes)).isoformat(),
        "message": text,
        "environment": "production",
        "release": "1.0",
        "tags": {"service": "web"},
    } | fields


def store(app: Flask, *events: dict[str, Any], config: ErrorsConfig | None = None) -> Issue:
    with database(app).session() as session:
        for each in events:
            issue = record_event(
                session, each, received_at=NOON + timedelta(hours=1), config=config
            ).issue
    return issue


def patch(client: FlaskClient, issue: Issue, status: str) -> dict[str, Any]:
    response = client.patch(f"/api/issues/{issue.id}", json={"status": status})
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json  # type: ignore[assignment]
    return body


def test_status_changes_and_regressions(app: Flask, client: FlaskClient) -> None:
    issue = store(app, event("cache down"))

    resolved = patch(client, issue, "resolved")
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    assert resolved["regressed_at"] is None

    reopened = store(app, event("cache down", 5))
    assert reopened.status == "unresolved"
    assert reopened.regressed_at is not None

    assert patch(client, issue, "ignored")["status"] == "ignored"
    assert store(app, event("cache down", 6)).status == "ignored"  # ignored stays ignored
    bad = client.patch(f"/api/issues/{issue.id}", json={"status": "asleep"})
    assert bad.status_code == 422
    assert client.patch("/api/issues/999", json={"status": "resolved"}).status_code == 404


def test_resolved_in_next_release_reopens_only_on_another_release(
    app: Flask, client: FlaskClient
) -> None:
    issue = store(app, event("queue stalled", release="1.0"))
    patch(client, issue, "resolved_in_next_release")

    same_release = store(app, event("queue stalled", 1, release="1.0"))
    assert same_release.status == "resolved_in_next_release"
    assert same_release.regressed_at is None

    next_release = store(app, event("queue stalled", 2, release="1.1"))
    assert next_release.status == "unresolved"
    assert next_release.regressed_at is not None


def test_affected_users_are_counted_once_each(app: Flask, client: FlaskClient) -> None:
    issue = store(
        app,
        event("boom", user={"id": "42", "email": "a@example.com"}),
        event("boom", 1, user={"id": "42"}),
        event("boom", 2, user={"email": "b@example.com"}),
        event("boom", 3, user={"ip_address": "10.0.0.1"}),
        event("boom", 4, user={"ip_address": "10.0.0.1"}),
        event("boom", 5),
    )

    body = client.get(f"/api/issues/{issue.id}").json
    assert body is not None
    assert (body["count"], body["user_count"]) == (6, 3)


def test_filters_narrow_the_list_and_its_counts(app: Flask, client: FlaskClient) -> None:
    store(
        app,
        event("payment declined", 1, environment="production", release="1.0"),
        event("payment declined", 2, environment="staging", release="1.1"),
        event("payment declined", 3, environment="staging", release="1.1", level="warning"),
        event("disk full", 4, environment="production", tags={"service": "worker"}),
    )

    def listed(**params: str) -> tuple[int, list[tuple[str, int]]]:
        response = client.get("/api/issues", query_string=params)
        assert response.status_code == 200, response.json
        body = response.json
        assert body is not None
        return body["total"], [(item["title"], item["count"]) for item in body["items"]]

    assert listed() == (2, [("disk full", 1), ("payment declined", 3)])
    assert listed(environment="staging") == (1, [("payment declined", 2)])
    assert listed(release="1.0") == (2, [("disk full", 1), ("payment declined", 1)])
    assert listed(level="warning") == (1, [("payment declined", 1)])
    assert listed(service="worker") == (1, [("disk full", 1)])
    assert listed(environment="staging", q="disk") == (0, [])
    assert listed(project="1", q="payment") == (1, [("payment declined", 3)])
    assert listed(project="2") == (0, [])
    staging = client.get("/api/issues", query_string={"environment": "staging"}).json
    assert staging is not None
    assert staging["items"][0]["total_count"] == 3
    assert staging["items"][0]["last_seen"] == "2026-03-01T12:03:00Z"


def test_sorting_by_count_and_first_seen_pages_through_everything(
    app: Flask, client: FlaskClient
) -> None:
    store(app, *(event("often", minute) for minute in range(5, 8)))  # 3 events, first at :05
    store(app, event("once", 9))  # 1 event, first at :09
    store(app, *(event("twice", minute) for minute in (1, 20)))  # 2 events, first at :01

    def walk(sort: str) -> list[str]:
        titles: list[str] = []
        cursor = None
        while True:
            params = {"sort": sort, "limit": "1"} | ({"cursor": cursor} if cursor else {})
            body = client.get("/api/issues", query_string=params).json
            assert body is not None
            titles += [item["title"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return titles

    assert walk("count") == ["often", "twice", "once"]
    assert walk("first_seen") == ["once", "often", "twice"]
    assert walk("last_seen") == ["twice", "once", "often"]
    assert client.get("/api/issues", query_string={"sort": "title"}).status_code == 422


def test_an_issue_keeps_its_first_and_latest_events_and_counts_them_all(
    app: Flask, client: FlaskClient
) -> None:
    events = [event("noisy", minute) for minute in range(8)]
    issue = store(app, *events, config=ErrorsConfig(events_per_issue=3))

    page = client.get(f"/api/issues/{issue.id}/events", query_string={"limit": "2"}).json
    assert page is not None
    rest = client.get(
        f"/api/issues/{issue.id}/events", query_string={"cursor": page["next_cursor"]}
    ).json
    assert rest is not None
    kept = [item["event_id"] for item in page["items"] + rest["items"]]
    assert kept == [events[7]["event_id"], events[6]["event_id"], events[5]["event_id"],
                    events[0]["event_id"]]  # fmt: skip
    assert client.get(f"/api/issues/{issue.id}").json["count"] == 8  # type: ignore[index]


def test_retention_deletes_old_events_in_batches_and_empty_issues(app: Flask) -> None:
    db = database(app)
    with db.session() as session:
        old = event("ancient", 0)
        kept_issue = store_event(session, event("recent", 0), received_at=NOON + timedelta(days=9))
        for _ in range(5):
            store_event(session, dict(old, event_id=uuid.uuid4().hex), received_at=NOON)
    config = ErrorsConfig(retention_days=7, retention_batch=2)

    deleted = enforce_retention(db, config, now=NOON + timedelta(days=10))

    assert (deleted.events, deleted.issues) == (5, 1)
    with db.session() as session:
        assert [issue.id for issue in session.scalars(select(Issue))] == [kept_issue.id]
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_retention_runs_from_the_cli(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["retention", "run"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "deleted 0 events and 0 issues"


def test_an_issue_made_under_grouping_version_1_keeps_its_events(
    app: Flask, sentry_events: Any
) -> None:
    # Version 1 grouped an exception without in-app frames by its value; version 2 by frames.
    import hashlib

    import orjson

    try:
        {}["missing"]
    except KeyError as error:
        raw = sentry_events.exception(error)
    for frame in raw["exception"]["values"][-1]["stacktrace"]["frames"]:
        frame["in_app"] = False
    parsed = parse_event(raw)
    old_key = hashlib.sha256(orjson.dumps(grouping_components(parsed, 1))).hexdigest()
    with database(app).session() as session:
        old = Issue(
            fingerprint=old_key, grouping_version=1, title="KeyError: 'missing'", level="error",
            status="unresolved", count=1, first_seen=NOON, last_seen=NOON, last_event_id="0" * 32,
        )  # fmt: skip
        session.add(old)
        session.flush()
        old_id = old.id

    issue = store(app, raw)

    assert issue.id == old_id
    assert issue.count == 2
    assert issue.grouping_version == 1
