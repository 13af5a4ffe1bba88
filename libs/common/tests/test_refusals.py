"""Every refusal counts itself once in ``loom_http_requests_refused_total``, by its reason."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.api_errors import ApiError, note_refusal
from loom_common.settings import Settings

BuildApp = Callable[[Settings], Flask]


@pytest.fixture
def app(make_settings: Callable[..., Settings], build_app: BuildApp) -> Flask:
    app = build_app(make_settings("web", migrate=False))
    app.config["MAX_CONTENT_LENGTH"] = 1024

    @app.post("/api/refuse")
    def refuse() -> None:
        note_refusal("quota_exceeded")  # the finer reason wins over the status's code
        raise ApiError(429, "too many", headers={"Retry-After": "1"})

    @app.post("/api/twice")
    def twice() -> None:
        note_refusal("first")
        note_refusal("second")
        raise ApiError(409, "no")

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _refused(client: FlaskClient, reason: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    match = re.search(
        rf'loom_http_requests_refused_total\{{reason="{reason}",service="web"\}} (\S+)', text
    )
    return float(match.group(1)) if match else 0.0


@pytest.mark.parametrize(
    ("send", "reason", "status"),
    [
        (lambda c, h: c.post("/api/things", data=b"{", headers={**h, "Content-Type": "application/json"}), "malformed_json", 400),
        (lambda c, h: c.post("/api/things", data=b"x" * 4096, headers={**h, "Content-Type": "application/json"}), "body_too_large", 413),
        (lambda c, h: c.post("/api/things", data=b"{}", headers={**h, "Content-Type": "text/plain"}), "unsupported_media_type", 415),
        (lambda c, h: c.get("/api/things?limit=nope", headers=h), "invalid", 422),
        (lambda c, h: c.get("/api/things"), "unauthorized", 401),
        (lambda c, h: c.post("/api/refuse", headers=h), "quota_exceeded", 429),
        (lambda c, h: c.post("/api/twice", headers=h), "first", 409),
    ],
)  # fmt: skip
def test_each_refusal_is_counted_once_under_its_reason(
    client: FlaskClient,
    operator_headers: dict[str, str],
    send: Callable[[FlaskClient, dict[str, str]], object],
    reason: str,
    status: int,
) -> None:
    before = _refused(client, reason)
    response = send(client, operator_headers)
    assert response.status_code == status  # type: ignore[attr-defined]
    assert _refused(client, reason) == before + 1


def test_an_answered_request_is_not_counted(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    text_before = client.get("/metrics").get_data(as_text=True)
    assert client.get("/api/things", headers=operator_headers).status_code == 200
    counted = re.findall(r"^loom_http_requests_refused_total\{.*\} (\S+)$", text_before, re.M)
    after = re.findall(
        r"^loom_http_requests_refused_total\{.*\} (\S+)$",
        client.get("/metrics").get_data(as_text=True),
        re.M,
    )
    assert sum(map(float, after)) == sum(map(float, counted))
