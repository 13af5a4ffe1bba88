"""Sessions and API tokens are looked up once and then remembered in the cache; ending one
is refused at the next request, in this process and in every other sharing the cache."""

from __future__ import annotations

from collections.abc import Callable

import redis
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import select
from web_helpers import PASSWORD, REDIS_URL, Person, post_form, redis_app, register

from loom_common.flask_app import app_database as database
from loom_common.settings import Settings
from loom_web.accounts.secret_tokens import token_hash
from loom_web.models import ApiToken


def _log_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    response = post_form(client, "/login", "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/settings").status_code == 200


def _ended_sessions() -> float:
    value = REGISTRY.get_sample_value("loom_web_refused_total", {"reason": "session_ended"})
    return value or 0.0


def test_logging_out_refuses_the_cookie_at_once_even_after_it_was_remembered(
    app: Flask, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    cookie_jar = ada.client
    assert _signed_in(cookie_jar) and _signed_in(cookie_jar)  # looked up, then remembered
    session_cookie = cookie_jar.get_cookie("session")
    assert session_cookie is not None

    assert post_form(cookie_jar, "/settings", "/logout", {}).status_code == 302
    assert not _signed_in(cookie_jar)

    # The cookie from before logging out, replayed by someone who copied it: refused.
    replay = app.test_client()
    replay.set_cookie("session", session_cookie.value)
    ended = _ended_sessions()
    assert not _signed_in(replay)
    assert _ended_sessions() == ended + 1


def test_ending_sessions_in_one_process_refuses_them_in_another_sharing_redis(
    make_settings: Callable[..., Settings], redis_prefix: str
) -> None:
    """Two app instances on one database and one Redis, like two gunicorn workers."""
    first, second = redis_app(make_settings, redis_prefix), redis_app(make_settings, redis_prefix)
    try:
        ada = register(first, "Ada")
        phone = _log_in(second, ada.email)
        assert _signed_in(phone) and _signed_in(phone)  # remembered in Redis by the second

        post_form(ada.client, "/settings", "/settings/sessions/end-others", {})  # the first
        assert not _signed_in(phone)
        assert _signed_in(ada.client)
    finally:
        database(first).dispose()
        database(second).dispose()


def test_a_revoked_token_is_refused_at_once_by_another_process_sharing_redis(
    make_settings: Callable[..., Settings], redis_prefix: str
) -> None:
    first, second = redis_app(make_settings, redis_prefix), redis_app(make_settings, redis_prefix)
    try:
        ada = register(first, "Ada")
        script = second.test_client()
        for _ in range(2):  # looked up, then remembered
            assert script.get("/api/v1/me", headers=ada.headers).status_code == 200
        with database(first).session() as session:
            token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "tests"))
        post_form(ada.client, "/settings", f"/settings/tokens/{token_id}/revoke", {})

        refused = script.get("/api/v1/me", headers=ada.headers)
        assert refused.status_code == 401
        assert refused.json["error"]["message"] == "invalid bearer token"
    finally:
        database(first).dispose()
        database(second).dispose()


def test_the_cache_keeps_who_holds_a_credential_never_the_credential_itself(
    make_settings: Callable[..., Settings], redis_prefix: str
) -> None:
    app = redis_app(make_settings, redis_prefix)
    try:
        ada = register(app, "Ada")
        assert _signed_in(ada.client)
        assert app.test_client().get("/api/v1/me", headers=ada.headers).status_code == 200
        cookie = ada.client.get_cookie("session")
        assert cookie is not None
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        session_token = serializer.loads(cookie.value)["_user_id"]

        connection = redis.Redis.from_url(REDIS_URL)
        stored = {key: connection.get(key) for key in connection.scan_iter(f"{redis_prefix}*")}
        connection.close()
        everything = b"".join([*stored, *(value or b"" for value in stored.values())])
        assert f"credential:login_session:{token_hash(session_token)}".encode() in everything
        assert f"credential:api_token:{token_hash(ada.token)}".encode() in everything
        assert session_token.encode() not in everything
        assert ada.token.encode() not in everything
    finally:
        database(app).dispose()
