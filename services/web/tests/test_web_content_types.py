"""A JSON body sent under another content type is a 415 naming JSON, not a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from web_helpers import Person

from loom_common.testing import assert_json_only

FORM = "multipart/form-data; boundary=x"


@pytest.mark.parametrize("content_type", [FORM, "text/plain"])
def test_json_routes_refuse_other_content_types_with_415(
    client: FlaskClient, make_person: Callable[..., Person], content_type: str
) -> None:
    ada = make_person("Ada")
    project = client.post("/api/v1/projects", json={"name": "Apollo"}, headers=ada.headers).json
    task = client.post(
        f"/api/v1/projects/{project['id']}/tasks", json={"title": "t"}, headers=ada.headers
    ).json
    headers = {**ada.headers, "Content-Type": content_type}
    assert_json_only(
        client,
        [
            ("POST", "/api/v1/projects", b'{"name": "Gemini"}'),
            ("POST", f"/api/v1/projects/{project['id']}/tasks", b'{"title": "t2"}'),
            ("PATCH", f"/api/v1/tasks/{task['id']}", b'{"title": "renamed"}'),
            ("POST", "/api/v1/tokens", b'{"name": "ci"}'),
            ("POST", "/api/v1/auth/token", b'{"email": "a@example.com", "password": "x"}'),
            ("POST", "/api/greetings", b'{"name": "Ada"}'),
        ],
        headers,
    )
    kept = client.get(f"/api/v1/tasks/{task['id']}", headers=ada.headers).json
    assert kept["title"] == "t"
