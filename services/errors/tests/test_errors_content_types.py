"""A JSON body sent under another content type is a 415 naming JSON; ingest keeps its types."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson
import pytest
from flask import Flask

from loom_common.flask_app import app_database
from loom_common.settings import Settings
from loom_common.testing import assert_json_only
from loom_errors.app import create_app
from loom_errors.projects.service import create_key

FORM = "multipart/form-data; boundary=x"


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Iterator[Flask]:
    app = create_app(make_settings("errors", ship_logs=False, capture_errors=False))
    yield app
    app_database(app).dispose()


@pytest.mark.parametrize("content_type", [FORM, "text/plain"])
def test_json_routes_refuse_other_content_types_with_415(
    app: Flask, operator_headers: dict[str, str], content_type: str
) -> None:
    client = app.test_client()
    headers = {**operator_headers, "Content-Type": content_type}
    assert_json_only(
        client,
        [
            ("POST", "/api/projects", b'{"name": "shop"}'),
            ("PUT", "/api/projects/1/alerts", b'{"recipients": ["a@example.com"]}'),
            ("PATCH", "/api/issues/1", b'{"status": "resolved"}'),
        ],
        headers,
    )
    projects = client.get("/api/projects", headers=operator_headers).json["items"]
    assert [project["name"] for project in projects] == ["loom"]


def test_the_store_endpoint_still_takes_json_sent_as_text_plain(app: Flask) -> None:
    with app_database(app).session() as session:
        key = create_key(session, 1)
    event = {"event_id": "a" * 32, "message": "hello", "level": "error", "platform": "python"}
    response = app.test_client().post(
        f"/api/1/store/?sentry_key={key.public_key}",
        data=orjson.dumps(event),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["id"] == "a" * 32
