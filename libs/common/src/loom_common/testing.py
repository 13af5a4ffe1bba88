"""Helpers for Loom's tests: polling with a deadline, free ports, and per-run isolation
(a fresh RabbitMQ vhost, a fresh PostgreSQL database). See shared/TESTING.md."""

from __future__ import annotations

import contextlib
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from loom_common.settings import DEFAULT_API_TOKEN

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

T = TypeVar("T")

# Secrets strong enough for staging and production settings (tests that run those shapes).
DEPLOYED_SECRET_KEY = "test-deployed-secret-key-0123456789abcdef"
DEPLOYED_API_TOKEN = "test-deployed-api-token-0123456789"


def wait_until(
    probe: Callable[[], T], timeout: float = 10.0, interval: float = 0.1, message: str = ""
) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except Exception as error:  # the thing polled may not be up yet
            last_error = error
        else:
            if result:
                return result
        time.sleep(interval)
    detail = f" (last error: {last_error!r})" if last_error else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {message or probe}{detail}")


def reconfigure(app: Flask, **changes: object) -> None:
    """Change fields of ``app``'s own config (``create_app(settings, config)``) mid-test, as a
    restart with other ``LOOM_<SERVICE>_*`` values would."""
    from loom_common.flask_app import CONFIG_KEY  # Flask's side only when a test asks for it

    config = app.extensions[CONFIG_KEY]
    app.extensions[CONFIG_KEY] = config.model_copy(update=changes)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rabbitmqctl(*args: str, timeout: float = 60.0) -> None:
    """Run ``rabbitmqctl``, again while the node is briefly away (another test's broker restart
    on the same machine); fails with what rabbitmqctl said once ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(
            ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=timeout
        )
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr or result.stdout}")
        time.sleep(1)


@contextlib.contextmanager
def temporary_vhost(
    host: str = "127.0.0.1", port: int = 5672, user: str = "guest", password: str = "guest"
) -> Iterator[str]:
    """A fresh RabbitMQ vhost for one test run; yields its AMQP URL and deletes it after."""
    vhost = f"loom-test-{secrets.token_hex(4)}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield f"amqp://{user}:{password}@{host}:{port}/{quote(vhost, safe='')}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@contextlib.contextmanager
def temporary_postgres_database(
    base_url: str = "postgresql://postgres@127.0.0.1:5432",
) -> Iterator[str]:
    """A fresh PostgreSQL database for one test run; yields its URL and drops it after."""
    import psycopg

    name = f"loom_test_{secrets.token_hex(4)}"
    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{base_url.split('://', 1)[1]}/{name}"
    finally:
        with psycopg.connect(f"{base_url}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def try_operator_token(client: FlaskClient, token: str, address: str = "127.0.0.1") -> TestResponse:
    """Post ``token`` to a service's operator sign-in page from client address ``address``."""
    environ = {"REMOTE_ADDR": address}
    form = client.get("/login", environ_base=environ).get_data(as_text=True)
    return client.post(
        "/login", data={"token": token, "csrf_token": csrf_token(form)}, environ_base=environ
    )


def sign_in_operator(client: FlaskClient, token: str = DEFAULT_API_TOKEN) -> None:
    """Sign a Flask test client in to a service's operator pages with the operator token."""
    response = try_operator_token(client, token)
    assert response.status_code == 302, response.get_data(as_text=True)


def sign_out_operator(client: FlaskClient) -> None:
    form = client.get("/login").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_token(form)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def session_cookie(client: FlaskClient) -> str:
    """The value of the client's session cookie (to replay it later)."""
    cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    assert cookie is not None, "the client holds no session cookie"
    return cookie.value


def client_with_cookie(app: Flask, value: str) -> FlaskClient:
    """A fresh client of ``app`` holding a session cookie copied from another one."""
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return client


def _sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def _sends_to_sign_in(client: FlaskClient, page: str) -> bool:
    response = client.get(page)
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


# The operator-session checks every service with operator pages runs on its own app
# (``page``: the path of one of its pages).


def check_a_signed_out_cookie_is_refused(app: Flask, page: str) -> None:
    operator = app.test_client()
    sign_in_operator(operator)
    assert operator.get(page).status_code == 200
    copied = session_cookie(operator)
    before = _sample("loom_operator_sessions_refused_total", reason="signed_out")

    sign_out_operator(operator)

    assert _sends_to_sign_in(operator, page)
    assert _sends_to_sign_in(client_with_cookie(app, copied), page), "a replayed cookie worked"
    assert _sample("loom_operator_sessions_refused_total", reason="signed_out") > before


def check_a_rotated_token_ends_the_sessions(app: Flask, rotated: Flask, page: str) -> None:
    """``rotated``: the same service started again with a new ``LOOM_API_TOKEN``."""
    operator = app.test_client()
    sign_in_operator(operator)
    assert operator.get(page).status_code == 200

    replayed = client_with_cookie(rotated, session_cookie(operator))
    assert _sends_to_sign_in(replayed, page), "a session of the old token still works"
    assert _sample("loom_operator_sessions_refused_total", reason="token_changed") >= 1
    sign_in_operator(replayed, rotated.config["LOOM_OPERATOR_TOKEN"])
    assert replayed.get(page).status_code == 200


def check_a_session_expires(app: Flask, page: str) -> None:
    """The session ends ``LOOM_OPERATOR_SESSION_HOURS`` after sign-in, in use or not."""
    sessions = app.extensions["loom_operator_sessions"]
    start = time.time()
    sessions.clock = lambda: start
    operator = app.test_client()
    sign_in_operator(operator)
    sessions.clock = lambda: start + sessions.lifetime_seconds - 1
    assert operator.get(page).status_code == 200
    sessions.clock = lambda: start + sessions.lifetime_seconds + 1
    assert _sends_to_sign_in(operator, page)


def check_wrong_tokens_are_limited_per_address(app: Flask, page: str) -> None:
    """Ten wrong tokens from one address: that address waits (429 with Retry-After), the right
    token included; another address can still sign in."""
    client = app.test_client()
    before = _sample("loom_operator_sign_ins_total", outcome="rate_limited")
    for _ in range(10):
        assert try_operator_token(client, "guess", address="203.0.113.9").status_code == 401

    for token in ("guess", DEFAULT_API_TOKEN):
        refused = try_operator_token(client, token, address="203.0.113.9")
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 300
        assert "Too many wrong tokens" in refused.get_data(as_text=True)
    assert _sends_to_sign_in(client, page)

    assert try_operator_token(client, DEFAULT_API_TOKEN, address="198.51.100.4").status_code == 302
    assert client.get(page).status_code == 200
    assert _sample("loom_operator_sign_ins_total", outcome="rate_limited") - before == 2
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'loom_operator_sign_ins_total{outcome="rate_limited"}' in metrics


# One app and one page are all these need: a service's page tests parametrize over them.
OPERATOR_SESSION_CHECKS = (
    check_a_signed_out_cookie_is_refused,
    check_a_session_expires,
    check_wrong_tokens_are_limited_per_address,
)


def assert_json_only(
    client: FlaskClient, requests: list[tuple[str, str, bytes]], headers: dict[str, str]
) -> None:
    """Each ``(method, path, body)`` sent with ``headers`` (a Content-Type other than JSON) is
    refused with a 415 that names JSON."""
    for method, path, body in requests:
        response = client.open(path, method=method, data=body, headers=headers)
        assert response.status_code == 415, (path, response.get_data(as_text=True))
        assert "send application/json" in response.json["error"]["message"]  # type: ignore[index]


# ``?next=`` values that must never send a browser off the site: OWASP's and
# PayloadsAllTheThings' open-redirect bypasses (schemes, protocol-relative forms, backslashes,
# control characters and whitespace browsers strip, and their percent-encoded forms).
OPEN_REDIRECT_PAYLOADS = (
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/x",
    "/\r\n/evil.example",
    "/\x00/evil.example",
    " //evil.example",
    "/ /evil.example",
    "/\u3000/evil.example",
    "/\u2028/evil.example",
    "/%09/evil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/%5Cevil.example",
    "/%252F%252Fevil.example",
    "%2F%2Fevil.example",
)
