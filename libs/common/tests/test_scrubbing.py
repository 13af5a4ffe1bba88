"""The one scrubber (loom_common.scrubbing): secret names, free text, JSON-like values."""

from __future__ import annotations

import pytest

from loom_common.scrubbing import FILTERED, is_secret_key, scrub_event, scrub_fields, scrub_text

RESET_TOKEN = "Xy9_kP2-qLm4Rt7sVw1zAb3cDe5fGh8jKn0oPq6uIy"  # as secrets.token_urlsafe(32) makes


@pytest.mark.parametrize(
    "name",
    [
        "confirm",
        "password_confirm",
        "new_password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "authorization",
        "cookie",
        "set-cookie",
        "session",
        "csrf_token",
        "dsn",
        "sentry_key",
        # sentry-python's DEFAULT_DENYLIST, whose names are not all made of secret words
        "PHPSESSID",
        "connect.sid",
        "symfony",
        "mysql_pwd",
        "XSRF-TOKEN",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ["author", "tokens_used", "passengers", "confirmed", "page"])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_key(name)


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [Filtered]"),
        ("authorization: basic dXNlcjpwYXNz", "authorization: basic [Filtered]"),
        ("sent Bearer eyJhbGciOi.eyJzdWIi.sig to the API", "sent Bearer [Filtered] to the API"),
        ("auth Basic dXNlcjpwYXNz failed", "auth Basic [Filtered] failed"),
        ("Cookie: sid=abc; theme=dark", "Cookie: [Filtered]"),
        (
            "cannot connect to postgresql://loom:s3cret@db.internal:5432/loom",
            "cannot connect to postgresql://loom:[Filtered]@db.internal:5432/loom",
        ),
        (
            "broker amqp://guest:guest@127.0.0.1:5672/%2F is down",
            "broker amqp://guest:[Filtered]@127.0.0.1:5672/%2F is down",
        ),
        ("redis://:s3cret@cache:6379/0", "redis://:[Filtered]@cache:6379/0"),
        (
            'body {"password": "hunter2", "user": "ada"}',
            'body {"password": "[Filtered]", "user": "ada"}',
        ),
        ("kwargs {'api_key': 'k-123', 'n': 1}", "kwargs {'api_key': '[Filtered]', 'n': 1}"),
        ("form password=hunter2&user=ada", "form password=[Filtered]&user=ada"),
        ("send(to='a@b.c', password='hunter2')", "send(to='a@b.c', password='[Filtered]')"),
        (
            "POST /api/1/store/?sentry_key=abc123&sentry_version=7",
            "POST /api/1/store/?sentry_key=[Filtered]&sentry_version=7",
        ),
        ("GET /export?token=abc&page=2", "GET /export?token=[Filtered]&page=2"),
        (
            f"GET https://loom.example/password/reset/{RESET_TOKEN} 200",
            "GET https://loom.example/password/reset/[Filtered] 200",
        ),
        ("card 4111 1111 1111 1111 declined", "card [Filtered] declined"),
    ],
)
def test_secrets_in_free_text_are_filtered(text: str, scrubbed: str) -> None:
    assert scrub_text(text) == scrubbed
    assert scrub_text(scrubbed) == scrubbed  # scrubbing again changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "basic settings and Basic authentication",
        "the bearer of bad news",
        "author=ada&page=2",
        "order 4111111111111112 shipped",
        "GET /api/jobs/2f1c4e9a-8d7b-4c6e-9f0a-1b2c3d4e5f60 200",
        "GET /static/0123456789abcdef0123456789abcdef.css 200",
        "https://loom.example/projects/7/tasks?page=2",
        "sqlite:///var/web.db",
    ],
)
def test_ordinary_text_stays(text: str) -> None:
    assert scrub_text(text) == text


def test_an_event_loses_its_secrets_by_name_by_pair_and_in_its_text() -> None:
    event = {
        "request": {
            "data": {"password": "a", "confirm": "b", "new_password": "c", "email": "ada@x"},
            "headers": [["Authorization", "Bearer t"], ["Accept", "*/*"]],
            "url": "https://loom.example/login?next=/&token=t",
        },
        "exception": {"values": [{"value": "cannot reach amqp://guest:guest@rabbit//"}]},
    }

    assert scrub_event(event) == {
        "request": {
            "data": {
                "password": FILTERED,
                "confirm": FILTERED,
                "new_password": FILTERED,
                "email": "ada@x",
            },
            "headers": [["Authorization", FILTERED], ["Accept", "*/*"]],
            "url": "https://loom.example/login?next=/&token=[Filtered]",
        },
        "exception": {"values": [{"value": "cannot reach amqp://guest:[Filtered]@rabbit//"}]},
    }
    assert event["request"]["data"]["confirm"] == "b"  # the original is untouched


def test_fields_lose_their_secrets() -> None:
    fields = {"dsn": "https://k@errors/1", "path": f"/password/reset/{RESET_TOKEN}", "status": 200}
    assert scrub_fields(fields) == {
        "dsn": FILTERED,
        "path": "/password/reset/[Filtered]",
        "status": 200,
    }
