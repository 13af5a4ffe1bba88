"""The HTTP API: auth, listing with filters and cursors, single issues and events, errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.cursors import encode_cursor
from loom_common.flask_app import app_database as database
from loom_common.settings import Settings
from loom_errors.app import create_app
from loom_errors.models import Issue
from loom_errors.store.events import store_event

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
def client(app: Flask, settings: Settings) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {settings.api_token.get_secret_value()}"
    return client


def message_event(text: str, minutes: int, **fields: Any) -> dict[str, Any]:
    """A message event ``minutes`` after noon; each distinct text is its own issue."""
    tags = fields.pop("tags", {})
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": (NOON + timedelta(minutes=minutes)).isoformat(),
        "level": fields.pop("level", "error"),
        "message": text,
        "environment": fields.pop("environment", "production"),
        "release": "2.0.0",
        "tags": {"service": "web", **tags},
        **fields,
    }


def find_setting(name: str) -> str:
    return {"present": "yes"}[name]


def seed(app: Flask, *events: dict[str, Any]) -> list[Issue]:
    with database(app).session() as session:
        return [
            store_event(session, event, received_at=NOON + timedelta(days=1)) for event in events
        ]


def test_api_routes_need_the_bearer_token(app: Flask) -> None:
    anonymous = app.test_client()

    missing = anonymous.get("/api/issues")
    wrong = anonymous.get("/api/issues", headers={"Authorization": "Bearer nope"})

    assert missing.status_code == 401
    assert missing.json == {
        "error": {
            "code": "unauthorized",
            "message": "missing bearer token: send 'Authorization: Bearer <token>'",
        }
    }
    assert wrong.status_code == 401
    assert anonymous.get("/openapi.json").status_code == 200


def test_issues_are_listed_most_recently_seen_first(
    app: Flask, client: FlaskClient, sentry_events: Any
) -> None:
    try:
        find_setting("missing")
    except KeyError as error:
        key_error = sentry_events.exception(error)
    key_error["timestamp"] = (NOON + timedelta(minutes=30)).isoformat()
    seed(app, message_event("cache miss storm", 10), key_error)

    response = client.get("/api/issues")

    assert response.status_code == 200
    body = response.json
    assert body is not None
    assert body["next_cursor"] is None
    assert [item["title"] for item in body["items"]] == ["KeyError: 'missing'", "cache miss storm"]
    newest = body["items"][0]
    assert newest["last_seen"] == "2026-03-01T12:30:00Z"
    assert newest["last_event_id"] == key_error["event_id"]
    assert newest["culprit"] == f"{__name__}.find_setting"
    assert set(newest) >= {
        "id", "title", "culprit", "level", "status", "count", "first_seen", "last_seen",
        "service", "environment", "release", "last_event_id",
    }  # fmt: skip


def test_issues_can_be_filtered(app: Flask, client: FlaskClient) -> None:
    *_, login = seed(
        app,
        message_event("payment declined", 1, tags={"request_id": "req-pay"}),
        message_event("disk full", 2, level="warning", environment="staging"),
        message_event("login refused", 3, tags={"service": "auth"}),
    )
    with database(app).session() as session:
        session.get_one(Issue, login.id).status = "resolved"

    def titles(**params: str) -> list[str]:
        response = client.get("/api/issues", query_string=params)
        assert response.status_code == 200, response.json
        assert response.json is not None
        return [item["title"] for item in response.json["items"]]

    assert titles(status="resolved") == ["login refused"]
    assert titles(status="unresolved") == ["disk full", "payment declined"]
    assert titles(service="auth") == ["login refused"]
    assert titles(environment="staging") == ["disk full"]
    assert titles(level="warning") == ["disk full"]
    assert titles(q="PAYMENT") == ["payment declined"]
    assert titles(q="%") == []  # a LIKE wildcard is searched for, not obeyed
    assert titles(request_id="req-pay") == ["payment declined"]
    assert titles(request_id="req-unknown") == []
    assert titles(service="web", environment="production") == ["payment declined"]


def test_the_cursor_walks_every_issue_once(app: Flask, client: FlaskClient) -> None:
    # Two pairs share a last_seen, so the id must break the tie.
    timeline = [("a", 1), ("b", 2), ("c", 2), ("d", 3), ("e", 3)]
    seed(app, *(message_event(f"failure {name}", minutes) for name, minutes in timeline))

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        response = client.get("/api/issues", query_string=params)
        assert response.status_code == 200
        body = response.json
        assert body is not None
        seen += [item["title"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == ["failure e", "failure d", "failure c", "failure b", "failure a"]


def test_one_issue_and_its_events(app: Flask, client: FlaskClient) -> None:
    first = message_event("queue stalled", 1, tags={"request_id": "req-1"})
    second = message_event("queue stalled", 2, tags={"request_id": "req-2"})
    (issue, _) = seed(app, second, first)  # received out of order, as concurrent consumers may

    one = client.get(f"/api/issues/{issue.id}")
    events = client.get(f"/api/issues/{issue.id}/events", query_string={"limit": 1})

    assert one.status_code == 200
    assert one.json is not None
    assert one.json["count"] == 2
    assert one.json["first_seen"] == "2026-03-01T12:01:00Z"
    assert one.json["last_event_id"] == second["event_id"]
    assert events.status_code == 200
    page = events.json
    assert page is not None
    assert [item["event_id"] for item in page["items"]] == [second["event_id"]]
    assert page["items"][0]["request_id"] == "req-2"
    assert page["items"][0]["payload"] == second
    rest = client.get(
        f"/api/issues/{issue.id}/events", query_string={"cursor": page["next_cursor"]}
    )
    assert rest.json is not None
    assert [item["event_id"] for item in rest.json["items"]] == [first["event_id"]]
    assert rest.json["next_cursor"] is None


def test_one_event_by_its_id(app: Flask, client: FlaskClient) -> None:
    event = message_event("queue stalled", 1, tags={"request_id": "req-1"})
    (issue,) = seed(app, event)

    response = client.get(f"/api/events/{uuid.UUID(event['event_id'])}")  # hyphens are fine

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["issue_id"] == issue.id
    assert response.json["timestamp"] == "2026-03-01T12:01:00Z"
    assert response.json["payload"]["message"] == "queue stalled"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/issues/999", "no issue with id 999"),
        ("/api/issues/999/events", "no issue with id 999"),
        (f"/api/events/{'f' * 32}", f"no event with id {'f' * 32}"),
    ],
)
def test_what_does_not_exist_is_a_404(client: FlaskClient, path: str, message: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.json == {"error": {"code": "not_found", "message": message}}


@pytest.mark.parametrize("limit", ["0", "201", "many"])
def test_a_bad_limit_is_a_422_naming_the_field(client: FlaskClient, limit: str) -> None:
    response = client.get("/api/issues", query_string={"limit": limit})

    assert response.status_code == 422
    assert response.json is not None
    assert response.json["error"]["code"] == "invalid"
    assert "limit" in response.json["error"]["fields"]


def test_an_unknown_status_is_a_422(client: FlaskClient) -> None:
    response = client.get("/api/issues", query_string={"status": "sleeping"})

    assert response.status_code == 422
    assert response.json is not None
    assert "status" in response.json["error"]["fields"]


def test_a_bad_cursor_is_a_400(app: Flask, client: FlaskClient) -> None:
    (issue, _, _) = seed(app, message_event("a", 1), message_event("a", 2), message_event("b", 3))
    issues_cursor = client.get("/api/issues", query_string={"limit": 1}).json["next_cursor"]  # type: ignore[index]
    events_cursor = client.get(f"/api/issues/{issue.id}/events", query_string={"limit": 1}).json[
        "next_cursor"
    ]  # type: ignore[index]
    assert issues_cursor and events_cursor

    # Not base64; base64 of JSON we did not write; cut short; another listing's cursor.
    for cursor in ["not base64 at all!", "eyJ4IjoxfQ", issues_cursor[:-3], events_cursor]:
        response = client.get("/api/issues", query_string={"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json is not None
        assert response.json["error"]["code"] == "bad_request"
        assert response.json["error"]["message"].startswith("invalid cursor")
    wrong_listing = client.get(
        f"/api/issues/{issue.id}/events", query_string={"cursor": issues_cursor}
    )
    assert wrong_listing.status_code == 400


def test_the_openapi_document_describes_the_api(client: FlaskClient) -> None:
    document = client.get("/openapi.json").json

    assert document is not None
    paths = document["paths"]
    assert {"/api/issues", "/api/issues/{issue_id}", "/api/issues/{issue_id}/events"} <= set(paths)
    assert "/api/events/{event_id}" in paths
    parameters = {parameter["name"] for parameter in paths["/api/issues"]["get"]["parameters"]}
    assert parameters >= {"limit", "cursor", "status", "service", "environment", "level", "q"}
    assert "request_id" in parameters


# Ids no database can hold (past 64 bits): 404 in a path, 422 in a query or body, 400 in a cursor.
HUGE = "820517158035656953298944"  # past 64 bits: SQLite's driver raises OverflowError
PAST_BIGINT = 2**63  # one past the largest BIGINT; JSON and pydantic still take it as an int


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/issues/{HUGE}"),
        ("GET", f"/api/issues/{HUGE}/events"),
        ("PATCH", f"/api/issues/{HUGE}"),
        ("GET", f"/api/projects/{HUGE}"),
        ("GET", f"/api/projects/{HUGE}/keys"),
        ("POST", f"/api/projects/{HUGE}/keys"),
        ("GET", f"/api/projects/{PAST_BIGINT}"),
        ("POST", f"/api/{HUGE}/envelope/?sentry_key=0123456789abcdef0123456789abcdef"),
        ("POST", f"/api/{HUGE}/store/?sentry_key=0123456789abcdef0123456789abcdef"),
    ],
)
def test_an_id_past_64_bits_in_the_path_is_404_json(
    client: FlaskClient, method: str, path: str
) -> None:
    response = client.open(path, method=method, data=b"{}")
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "not_found"


def test_an_id_or_count_past_64_bits_in_a_query_or_body_is_422_naming_it(
    client: FlaskClient,
) -> None:
    listed = client.get("/api/issues", query_string={"project": PAST_BIGINT})
    assert listed.status_code == 422, listed.json
    assert set(listed.json["error"]["fields"]) == {"project"}

    alerts = client.put(
        "/api/projects/1/alerts",
        json={"recipients": [], "event_threshold": PAST_BIGINT, "threshold_minutes": 5},
    )
    assert alerts.status_code == 422, alerts.json
    assert set(alerts.json["error"]["fields"]) == {"event_threshold"}
    assert client.get("/api/projects/1").json["alert_event_threshold"] is None


def test_a_cursor_holding_an_id_past_64_bits_is_400(client: FlaskClient) -> None:
    # 1e20: JSON numbers past 64 bits decode as floats, which int() makes huge again
    for position in ([PAST_BIGINT, PAST_BIGINT], ["2026-01-01T00:00:00+00:00", 1e20]):
        cursor = encode_cursor("issues:count", *position)
        response = client.get("/api/issues", query_string={"sort": "count", "cursor": cursor})
        assert response.status_code == 400, response.json
        assert "cursor" in response.json["error"]["message"]
