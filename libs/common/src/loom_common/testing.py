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
    from flask.testing import FlaskClient

T = TypeVar("T")


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


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


def sign_in_operator(client: FlaskClient) -> None:
    """Sign a Flask test client in to a service's operator pages with the operator token."""
    form = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"token": DEFAULT_API_TOKEN, "csrf_token": csrf_token(form)}
    )
    assert response.status_code == 302


def assert_json_only(
    client: FlaskClient, requests: list[tuple[str, str, bytes]], headers: dict[str, str]
) -> None:
    """Each ``(method, path, body)`` sent with ``headers`` (a Content-Type other than JSON) is
    refused with a 415 that names JSON."""
    for method, path, body in requests:
        response = client.open(path, method=method, data=body, headers=headers)
        assert response.status_code == 415, (path, response.get_data(as_text=True))
        assert "send application/json" in response.json["error"]["message"]  # type: ignore[index]
