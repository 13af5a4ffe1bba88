"""A JSON body sent under another content type is a 415 naming JSON, not a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from web_helpers import Person

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
    for method, path, body in (
        ("POST", "/api/v1/projects", b'{"name": "Gemini"}'),
        ("POST", f"/api/v1/projects/{project['id']}/tasks", b'{"title": "t2"}'),
        ("PATCH", f"/api/v1/tasks/{task['id']}", b'{"title": "renamed"}'),
        ("POST", "/api/v1/tokens", b'{"name": "ci"}'),
        ("POST", "/api/v1/auth/token", b'{"email": "a@example.com", "password": "x"}'),
        ("POST", "/api/greetings", b'{"name": "Ada"}'),
    ):
        response = client.open(path, method=method, data=body, headers=headers)
        assert response.status_code == 415, (path, response.get_data(as_text=True))
        assert "send application/json" in response.json["error"]["message"]
    kept = client.get(f"/api/v1/tasks/{task['id']}", headers=ada.headers).json
    assert kept["title"] == "t"
