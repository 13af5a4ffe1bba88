"""A body of a content type its API view does not declare is a 415 naming the accepted one."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.settings import Settings

BuildApp = Callable[[Settings], Flask]


@pytest.fixture
def client(make_settings: Callable[..., Settings], build_app: BuildApp) -> FlaskClient:
    return build_app(make_settings("web", migrate=False)).test_client()


def _refused(client: FlaskClient) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    pattern = (
        r'loom_http_requests_refused_total\{reason="unsupported_media_type",service="web"\} (\S+)'
    )
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "text/plain", "application/x-www-form-urlencoded", ""],
)
def test_a_json_body_under_another_content_type_is_415_naming_json(
    client: FlaskClient, operator_headers: dict[str, str], content_type: str
) -> None:
    before = _refused(client)
    headers = {**operator_headers, "Content-Type": content_type}
    response = client.post("/api/things", data=b'{"name": "Ada"}', headers=headers)
    assert response.status_code == 415, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "unsupported_media_type"
    assert "send application/json" in response.json["error"]["message"]
    assert _refused(client) == before + 1


def test_json_and_its_variants_still_pass(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    for content_type in ("application/json", "application/json; charset=utf-8"):
        headers = {**operator_headers, "Content-Type": content_type}
        response = client.post("/api/things", data=b'{"name": "Ada"}', headers=headers)
        assert response.status_code == 201, response.json


def test_the_token_is_checked_before_the_content_type(client: FlaskClient) -> None:
    response = client.post("/api/things", data=b"x", content_type="text/plain")
    assert response.status_code == 401
