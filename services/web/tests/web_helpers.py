"""Helpers for the web service's tests: forms with their CSRF token, people who registered
through the pages and hold an API token, and the jobs the app sent to the worker."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from loom_common.settings import Settings
from loom_common.testing import wait_until
from loom_web.app import create_app
from loom_web.config import WebConfig

Drain = Callable[[str], list[dict[str, Any]]]
PASSWORD = "correct horse battery"
REDIS_URL = "redis://127.0.0.1:6379/0"


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def post_form(client: FlaskClient, form_page: str, action: str, data: dict[str, Any]) -> Any:
    """Submit a form as a browser would: with the CSRF token of the page it is on."""
    page = client.get(form_page).get_data(as_text=True)
    return client.post(action, data={**data, "csrf_token": csrf_token(page)})


@dataclass
class Person:
    email: str
    name: str
    client: FlaskClient  # logged in through the pages
    token: str  # a personal API token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(label: str = "user") -> str:
    return f"{label}-{secrets.token_hex(4)}@example.com"


def register(app: Flask, name: str = "Ada", email: str | None = None) -> Person:
    client = app.test_client()
    email = email or unique_email(name.lower())
    response = post_form(
        client,
        "/register",
        "/register",
        {"email": email, "name": name, "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    logged_in = post_form(client, "/login", "/login", {"email": email, "password": PASSWORD})
    assert logged_in.status_code == 302, logged_in.get_data(as_text=True)
    token = client.post(
        "/api/v1/auth/token", json={"email": email, "password": PASSWORD, "name": "tests"}
    )
    assert token.status_code == 201, token.json
    return Person(email, name, client, token.json["token"])


class JobsQueue:
    """What the app sent to the worker during one test (each message is drained once)."""

    def __init__(self, drain: Drain) -> None:
        self.drain = drain
        self.seen: list[dict[str, Any]] = []

    def matching(self, actor: str, **expected: Any) -> list[dict[str, Any]]:
        return [
            m
            for m in self.seen
            if m["actor_name"] == actor and expected.items() <= m["kwargs"].items()
        ]

    def wait(self, actor: str, **expected: Any) -> dict[str, Any]:
        """The message for ``actor`` whose kwargs include ``expected``."""

        def arrived() -> list[dict[str, Any]]:
            self.seen.extend(self.drain("jobs"))
            return self.matching(actor, **expected)

        return wait_until(arrived, message=f"a {actor} job with {expected}")[0]


def redis_app(make_settings: Callable[..., Settings], prefix: str) -> Flask:
    """An app caching in the machine's Redis under ``prefix``: two of them on one database
    behave like two gunicorn workers."""
    # Flask-Limiter keeps the first app's key prefix for the process, so the limits of every
    # Redis app of a test run count together: the hourly email limit is lifted for them.
    limits = {"rate_limit_key_prefix": prefix + "limits", "email_limit_per_address": "1000/hour"}
    return create_app(
        make_settings("web", cache_url=REDIS_URL),
        WebConfig(cache_key_prefix=prefix, **limits),
    )
