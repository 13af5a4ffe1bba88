"""Ids past 64 bits never reach a database driver: 404 in a path, 422 in a model, 400 in a cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request
from pydantic import BaseModel

from loom_common import flask_app
from loom_common.bounded_ints import MAX_INT64, Id
from loom_common.cursors import decode_cursor, encode_cursor
from loom_common.openapi import make_spec
from loom_common.settings import Settings


class ThingQuery(BaseModel):
    owner: Id | None = None


def _app(settings: Settings) -> Flask:
    spec = make_spec("probe")
    app = Flask("bounds")
    flask_app.init_app(app, settings, spec=spec)

    @app.route("/api/things/<int:thing_id>", methods=["GET", "PATCH"])
    def thing(thing_id: int) -> dict[str, Any]:
        return {"id": thing_id}

    @app.get("/api/things")
    @spec.validate(query=ThingQuery, tags=["probe"])
    def things(query: ThingQuery) -> dict[str, Any]:
        return {"owner": query.owner}

    @app.get("/api/pages")
    def pages() -> dict[str, Any]:
        return {"position": decode_cursor("pages", request.args["cursor"], object)}

    return app


def test_an_int_route_takes_every_bigint_and_nothing_past_it(
    make_settings: Callable[..., Settings], operator_headers: dict[str, str]
) -> None:
    client = _app(make_settings("web", migrate=False)).test_client()
    assert client.get(f"/api/things/{MAX_INT64}", headers=operator_headers).json == {
        "id": MAX_INT64
    }
    for method in ("GET", "PATCH"):  # not a 405: the path exists, the id cannot
        response = client.open(
            f"/api/things/{MAX_INT64 + 1}", method=method, headers=operator_headers
        )
        assert response.status_code == 404
        assert str(MAX_INT64 + 1) in response.json["error"]["message"]


def test_an_id_past_a_bigint_in_a_model_is_422_naming_the_field(
    make_settings: Callable[..., Settings], operator_headers: dict[str, str]
) -> None:
    client = _app(make_settings("web", migrate=False)).test_client()
    response = client.get("/api/things?owner=9223372036854775808", headers=operator_headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"owner"}


@pytest.mark.parametrize("position", [2**63, 1e20])
def test_a_cursor_holding_a_number_past_a_bigint_is_400(
    make_settings: Callable[..., Settings], operator_headers: dict[str, str], position: Any
) -> None:
    client = _app(make_settings("web", migrate=False)).test_client()
    response = client.get(
        "/api/pages",
        query_string={"cursor": encode_cursor("pages", position)},
        headers=operator_headers,
    )
    assert response.status_code == 400
    assert "invalid cursor" in response.json["error"]["message"]


def test_int_routes_added_before_init_app_are_refused_at_start_up(
    make_settings: Callable[..., Settings],
) -> None:
    app = Flask("too-early")
    app.add_url_rule("/api/things/<int:thing_id>", "thing", lambda thing_id: "")
    with pytest.raises(RuntimeError, match="call init_app before registering blueprints"):
        flask_app.init_app(app, make_settings("web", migrate=False), spec=make_spec("probe"))
