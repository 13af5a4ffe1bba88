"""Deeply nested JSON bodies are a 400 naming the problem on every API route, however the
view reads the body, never a RecursionError (500)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from loom_common.api_errors import json_checked
from loom_common.auth import public
from loom_common.settings import Settings

DEEP = "[" * 5000 + "]" * 5000  # a few kilobytes; Python's json gives up near 1000 levels
DEEP_BUT_UNDER_ORJSONS_LIMIT = '{"name": ' + "[" * 900 + "]" * 900 + "}"


@pytest.fixture
def client(
    make_settings: Callable[..., Settings], build_app: Callable[[Settings], Flask]
) -> FlaskClient:
    app = build_app(make_settings("web", migrate=False))

    @app.post("/api/echo")
    @json_checked
    @public
    def echo() -> dict[str, Any]:
        return {"got": type(request.get_json()).__name__}

    @app.post("/api/ingest-probe")
    @public  # reads its own body, as ingest endpoints do
    def ingest_probe() -> dict[str, Any]:
        return {"silent": type(request.get_json(silent=True)).__name__}

    @app.post("/api/strict-probe")
    @public
    def strict_probe() -> dict[str, Any]:
        return {"got": type(request.get_json()).__name__}

    return app.test_client()


@pytest.mark.parametrize("body", [DEEP, DEEP_BUT_UNDER_ORJSONS_LIMIT])
def test_a_deep_body_is_400_naming_the_depth(
    client: FlaskClient, operator_headers: dict[str, str], body: str
) -> None:
    for path, headers in (("/api/things", operator_headers), ("/api/echo", {})):
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400, path
        assert response.json["error"]["message"] == (
            "malformed JSON body: nested deeper than 100 levels"
        )


def test_a_view_reading_the_body_itself_gets_a_400_or_nothing_never_a_500(
    client: FlaskClient,
) -> None:
    strict = client.post("/api/strict-probe", data=DEEP, content_type="application/json")
    assert strict.status_code == 400
    assert strict.json["error"]["code"] == "bad_request"
    silent = client.post("/api/ingest-probe", data=DEEP, content_type="application/json")
    assert silent.status_code == 200
    assert silent.json == {"silent": "NoneType"}


def test_ordinary_nesting_still_parses(client: FlaskClient) -> None:
    body = "[" * 99 + "]" * 99
    assert client.post("/api/echo", data=body, content_type="application/json").json == {
        "got": "list"
    }
