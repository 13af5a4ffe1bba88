"""Operator sign-in for the errors and logs pages: token sign-in, CSRF on page forms only,
no open redirect, and the bearer API left as it was."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from flask import Flask, render_template_string, request
from flask.testing import FlaskClient

from loom_common import flask_app
from loom_common.openapi import make_spec
from loom_common.operator_ui import init_operator_ui, page
from loom_common.settings import DEFAULT_API_TOKEN, Settings
from loom_common.testing import (
    OPEN_REDIRECT_PAYLOADS,
    check_a_signed_out_cookie_is_refused,
    csrf_token,
)

PAGE = """{% extends "loom_operator/base.html" %}{% block content %}
<h1>Issues</h1><form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<button>Resolve</button></form>{% endblock %}"""


def probe_app(settings: Settings) -> Flask:
    app = Flask("operator-probe")

    @app.route("/issues", methods=["GET", "POST"])
    @page
    def issues() -> str:
        return "resolved" if request.method == "POST" else render_template_string(PAGE)

    @app.post("/api/things")
    def api_things() -> dict[str, str]:
        return {"ok": "yes"}

    flask_app.init_app(app, settings, spec=make_spec("errors"), sessions=True)
    init_operator_ui(app, settings, title="Errors", home_endpoint="issues")
    return app


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> FlaskClient:
    return probe_app(make_settings("errors", migrate=False)).test_client()


def _sign_in(client: FlaskClient, token: str, next_path: str = "/issues") -> tuple[int, str]:
    form = client.get(f"/login?next={next_path}").get_data(as_text=True)
    response = client.post(
        f"/login?next={next_path}", data={"token": token, "csrf_token": csrf_token(form)}
    )
    return response.status_code, response.headers.get("Location", "")


def test_a_page_sends_a_stranger_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/issues")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/issues")


def test_the_operator_token_signs_in_and_a_wrong_one_does_not(client: FlaskClient) -> None:
    status, _ = _sign_in(client, "not-the-token")
    assert status == 401
    assert client.get("/issues").status_code == 302

    status, location = _sign_in(client, DEFAULT_API_TOKEN)
    assert (status, location) == (302, "/issues")
    assert "<h1>Issues</h1>" in client.get("/issues").get_data(as_text=True)


def test_sign_in_never_redirects_off_site(client: FlaskClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", *OPEN_REDIRECT_PAYLOADS):
        _, location = _sign_in(client, DEFAULT_API_TOKEN, next_path=quote(target, safe=""))
        assert location == "/issues", target


def test_a_page_form_needs_itscsrf_token(client: FlaskClient) -> None:
    _sign_in(client, DEFAULT_API_TOKEN)
    assert client.post("/issues").status_code == 400
    token = csrf_token(client.get("/issues").get_data(as_text=True))
    assert client.post("/issues", data={"csrf_token": token}).get_data(as_text=True) == "resolved"


def test_the_bearer_api_needs_nocsrf_token(client: FlaskClient) -> None:
    response = client.post("/api/things", headers={"Authorization": f"Bearer {DEFAULT_API_TOKEN}"})
    assert response.status_code == 200


def test_sign_out_ends_the_session(client: FlaskClient) -> None:
    _sign_in(client, DEFAULT_API_TOKEN)
    token = csrf_token(client.get("/issues").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/issues").status_code == 302


def test_with_a_shared_cache_a_signed_out_cookie_is_refused_through_redis(
    make_settings: Callable[..., Settings],
) -> None:
    # Staging and production keep revoked sessions in Redis, seen by every host.
    settings = make_settings("errors", migrate=False, cache_url="redis://127.0.0.1:6379/0")
    check_a_signed_out_cookie_is_refused(probe_app(settings), "/issues")
