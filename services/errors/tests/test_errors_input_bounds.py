"""What the errors API and ingest answer to ids no database can hold (past 64 bits)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.flask_app import app_database
from loom_common.settings import Settings
from loom_errors.app import create_app
from loom_errors.cursors import encode_cursor

HUGE = "820517158035656953298944"  # past 64 bits: SQLite's driver raises OverflowError
PAST_BIGINT = 2**63  # one past the largest BIGINT; JSON and pydantic still take it as an int


@pytest.fixture
def app(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Flask]:
    settings = make_settings(
        "errors", ship_logs=False, capture_errors=False, errors_database_url=database_url
    )
    app = create_app(settings)
    yield app
    app_database(app).dispose()


@pytest.fixture
def client(app: Flask, operator_headers: dict[str, str]) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = operator_headers["Authorization"]
    return client


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
        cursor = encode_cursor("issues:count", position)
        response = client.get("/api/issues", query_string={"sort": "count", "cursor": cursor})
        assert response.status_code == 400, response.json
        assert "cursor" in response.json["error"]["message"]
