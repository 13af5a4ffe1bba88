"""Secrets never reach the database: the stored payload is scrubbed (the issue still groups)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from loom_common.db import Database
from loom_common.scrubbing import scrub_text
from loom_errors.models import Event, Issue
from loom_errors.store.events import store_event

CARD = "4111 1111 1111 1111"  # a Luhn-valid test card number


def stored_payload(database: Database, event: dict[str, Any]) -> dict[str, Any]:
    with database.session() as session:
        store_event(session, event)
        payload = session.scalar(select(Event.payload).where(Event.event_id == event["event_id"]))
    assert payload is not None
    stored: dict[str, Any] = orjson.loads(payload)
    return stored


def test_secrets_in_a_real_event_are_filtered_before_storing(
    database: Database, sentry_events: Any
) -> None:
    def pay(card_number: str, password: str) -> None:
        raise ValueError(f"card {card_number} declined")

    password = "".join(["hun", "ter2"])  # not a literal: source lines travel in the event
    try:
        pay(CARD, password)
    except ValueError as error:
        event = sentry_events.exception(error)
    event["request"] = {
        "url": "https://shop.example/pay?access_token=abc123&page=2",
        "query_string": "session_id=s3cr3t&page=2",
        "headers": [["Authorization", "Bearer xyz"], ["Cookie", "sid=1"], ["Accept", "*/*"]],
        "cookies": {"sid": "1"},
        "data": {"password": "hunter2", "amount": "12.50"},
    }
    event["extra"] = {"api_key": "k-123", "note": f"paid with {CARD.replace(' ', '-')}"}

    stored = stored_payload(database, event)
    text = orjson.dumps(stored).decode()

    for secret in ("hunter2", "xyz", "abc123", "s3cr3t", "k-123", "4111"):
        assert secret not in text, secret
    request = stored["request"]
    assert request["headers"] == [
        ["Authorization", "[Filtered]"],
        ["Cookie", "[Filtered]"],
        ["Accept", "*/*"],
    ]
    assert request["cookies"] == "[Filtered]"
    assert request["url"] == "https://shop.example/pay?access_token=[Filtered]&page=2"
    assert request["data"] == {"password": "[Filtered]", "amount": "12.50"}
    assert stored["exception"]["values"][-1]["value"] == "card [Filtered] declined"


def test_numbers_that_are_not_cards_stay() -> None:
    assert scrub_text("order 4111111111111112 shipped") == "order 4111111111111112 shipped"
    assert scrub_text("phone 0044 20 7946 0958") == "phone 0044 20 7946 0958"
    assert scrub_text("card 5555555555554444") == "card [Filtered]"
    assert scrub_text("author=ada&page=2") == "author=ada&page=2"


def test_strings_met_again_scrub_as_the_first_time() -> None:
    # Strings seen clean are remembered; one with a secret must be masked every time.
    for _ in range(2):
        assert scrub_text("  File app.py, line 12") == "  File app.py, line 12"
        assert scrub_text(f"card {CARD} declined") == "card [Filtered] declined"
        assert scrub_text("token=abc&page=2") == "token=[Filtered]&page=2"


def test_the_second_password_field_and_secrets_in_text_are_filtered_before_storing(
    database: Database, sentry_events: Any
) -> None:
    # Register and reset forms post password and confirm; a failing request sends both.
    try:
        raise ConnectionError("cannot reach postgresql://loom:db-pass-1@db.internal/loom")
    except ConnectionError as error:
        event = sentry_events.exception(error)
    event["request"] = {
        "url": "https://loom.example/register",
        "data": {"email": "ada@example.com", "password": "pw-1", "confirm": "pw-1"},
        "headers": [["X-Debug", "Authorization: Bearer bearer-secret-1"]],
    }
    event["extra"] = {"body": '{"new_password": "pw-2", "password_confirm": "pw-2"}'}

    stored = stored_payload(database, event)

    text = orjson.dumps(stored).decode()
    for secret in ("pw-1", "pw-2", "db-pass-1", "bearer-secret-1"):
        assert secret not in text, secret
    assert stored["request"]["data"] == {
        "email": "ada@example.com",
        "password": "[Filtered]",
        "confirm": "[Filtered]",
    }
    with database.session() as session:
        title = session.scalar(select(Issue.title).where(Issue.last_event_id == event["event_id"]))
    assert title is not None and "db-pass-1" not in title
