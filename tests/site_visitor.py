"""A person using the web app as a browser would: pages with their CSRF tokens, a login
session cookie, and (when a flow needs the JSON API) a personal API token."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import requests

PASSWORD = "correct horse battery"
TIMEOUT = 15.0
_CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(page: str) -> str:
    match = _CSRF_INPUT.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def unique_email(label: str) -> str:
    return f"{label.lower()}-{secrets.token_hex(4)}@example.com"


@dataclass
class Visitor:
    """One browser: its own cookie jar against web's base URL."""

    web_url: str
    browser: requests.Session = field(default_factory=requests.Session)

    def get(self, path_or_url: str, **kwargs: Any) -> requests.Response:
        return self.browser.get(self._url(path_or_url), timeout=TIMEOUT, **kwargs)

    def post(self, path_or_url: str, data: dict[str, Any]) -> requests.Response:
        """A form post with the CSRF token of this browser's session (from the log-in page)."""
        token = csrf_token(self.get("/login").text)
        return self.browser.post(
            self._url(path_or_url),
            data={**data, "csrf_token": token},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def submit(
        self,
        form_page: str,
        data: dict[str, Any],
        action: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Fill in the form of ``form_page`` and post it (to ``action``, else to the same page),
        without following the redirect so the test sees where the app sends the person."""
        page = self.get(form_page)
        assert page.status_code == 200, f"GET {form_page}: {page.status_code}"
        return self.browser.post(
            self._url(action or form_page),
            data={**data, "csrf_token": csrf_token(page.text)},
            headers=headers or {},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def log_in(self, email: str, password: str) -> requests.Response:
        return self.submit("/login", {"email": email, "password": password})

    def _url(self, path_or_url: str) -> str:
        return path_or_url if "://" in path_or_url else self.web_url + path_or_url


@dataclass
class Member(Visitor):
    """Someone who registered through the pages and is logged in."""

    email: str = ""
    name: str = ""
    _api_token: str | None = None

    @property
    def api_headers(self) -> dict[str, str]:
        """A personal API token, asked for once with the password (POST /api/v1/auth/token)."""
        if self._api_token is None:
            reply = requests.post(
                f"{self.web_url}/api/v1/auth/token",
                json={"email": self.email, "password": PASSWORD, "name": "flows"},
                timeout=TIMEOUT,
            )
            assert reply.status_code == 201, reply.text
            self._api_token = reply.json()["token"]
        return {"Authorization": f"Bearer {self._api_token}"}

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method, f"{self.web_url}{path}", headers=self.api_headers, timeout=TIMEOUT, **kwargs
        )

    @property
    def user_id(self) -> int:
        return int(self.api("GET", "/api/v1/me").json()["id"])


def register(web_url: str, name: str, request_id: str | None = None) -> Member:
    """Register through GET/POST /register, then log in on the member's session."""
    member = Member(web_url=web_url, email=unique_email(name), name=name)
    reply = member.submit(
        "/register",
        {"email": member.email, "name": name, "password": PASSWORD, "confirm": PASSWORD},
        headers={"X-Request-ID": request_id} if request_id else None,
    )
    assert reply.status_code == 302, f"register answered {reply.status_code}: {reply.text[:500]}"
    assert reply.headers["Location"].endswith("/login")
    if request_id:
        assert reply.headers["X-Request-ID"] == request_id
    logged_in = member.log_in(member.email, PASSWORD)
    assert logged_in.status_code == 302, f"log-in answered {logged_in.status_code}"
    return member
