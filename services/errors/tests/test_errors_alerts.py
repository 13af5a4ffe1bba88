"""Email alerts over a real SMTP conversation (an aiosmtpd sink on a free port)."""

from __future__ import annotations

import email
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message
from types import ModuleType
from typing import Any

import dramatiq
import orjson
import pytest
from aiosmtpd.controller import Controller
from prometheus_client import REGISTRY
from sqlalchemy import select

from loom_common.broker import send
from loom_common.contracts import ERRORS_ACTOR, ERRORS_QUEUE
from loom_common.db import Database
from loom_common.settings import Settings
from loom_common.testing import free_port, wait_until
from loom_errors.alerts.sending import alert_on, retry_due_alerts, send_due_digests
from loom_errors.config import ErrorsConfig
from loom_errors.models import Alert, Issue, Project, as_utc
from loom_errors.store.events import ingest, record_event

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Inbox:
    """aiosmtpd handler: keeps every message it is handed (or refuses it while ``refusing``)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refusing = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing:
            return "554 Transaction failed: not today"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def alert_settings(make_settings: Callable[..., Settings], inbox: tuple[Inbox, int]) -> Settings:
    return make_settings(
        "errors",
        ship_logs=False,
        capture_errors=False,
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        errors_url="https://errors.example",
    )


def set_recipients(database: Database, threshold: tuple[int, int] | None = None) -> None:
    with database.session() as session:
        project = session.get_one(Project, 1)
        project.alert_recipients = orjson.dumps(["ops@example.com"]).decode()
        if threshold:
            project.alert_event_threshold, project.alert_threshold_minutes = threshold


def failing(value: str) -> None:
    raise RuntimeError(f"payment provider said {value}")


def bug(sentry_events: Any, at: datetime, value: str = "no") -> dict[str, Any]:
    try:
        failing(value)
    except RuntimeError as error:
        event: dict[str, Any] = sentry_events.exception(error)
    event["timestamp"] = at.isoformat()
    return event


def store(database: Database, event: dict[str, Any], at: datetime) -> Any:
    with database.session() as session:
        return record_event(session, event, received_at=at)


CONFIG = ErrorsConfig(alert_cooldown_minutes=30, alerts_per_project_hour=2, digest_after_minutes=10)


def test_a_new_issue_sends_an_email_with_what_an_operator_needs(
    database: Database, alert_settings: Settings, inbox: tuple[Inbox, int], sentry_events: Any
) -> None:
    set_recipients(database)
    stored = store(database, bug(sentry_events, NOON), NOON)

    assert alert_on(database, alert_settings, CONFIG, stored, now=NOON) == "sent"

    (mail,) = inbox[0].messages
    assert mail["To"] == "ops@example.com"
    assert mail["Subject"] == "[loom] New issue: RuntimeError: payment provider said no"
    body = mail.get_payload()
    assert isinstance(body, str)
    assert "Events: 1" in body
    assert "Environment: test" in body and "Release: 1.0.0" in body
    assert f"{__name__}.failing" in body  # the top in-app frame
    assert f"https://errors.example/issues/{stored.issue.id}" in body


def test_a_regression_alerts_and_a_cooldown_keeps_a_flood_quiet(
    database: Database, alert_settings: Settings, inbox: tuple[Inbox, int], sentry_events: Any
) -> None:
    set_recipients(database, threshold=(3, 10))
    first = store(database, bug(sentry_events, NOON), NOON)
    alert_on(database, alert_settings, CONFIG, first, now=NOON)
    with database.session() as session:
        session.get_one(Issue, first.issue.id).status = "resolved"

    later = NOON + timedelta(hours=1)
    regression = store(database, bug(sentry_events, later), later)
    outcomes = [alert_on(database, alert_settings, CONFIG, regression, now=later)]
    for second in range(1, 6):  # a burst: over the threshold, inside the cooldown
        at = later + timedelta(seconds=second)
        outcomes.append(alert_on(database, alert_settings, CONFIG, store(database, bug(sentry_events, at), at), now=at))  # fmt: skip

    assert outcomes == ["sent", None, None, "suppressed", "suppressed", "suppressed"]
    subjects = [mail["Subject"] for mail in inbox[0].messages]
    assert subjects == [
        "[loom] New issue: RuntimeError: payment provider said no",
        "[loom] Regression: RuntimeError: payment provider said no",
    ]
    after_cooldown = later + timedelta(minutes=31)
    for second in range(4):  # four in the 10 minute window: over the threshold of 3
        at = after_cooldown + timedelta(seconds=second)
        frequent = store(database, bug(sentry_events, at), at)
    assert alert_on(database, alert_settings, CONFIG, frequent, now=after_cooldown) == "sent"
    assert inbox[0].messages[-1]["Subject"].startswith("[loom] Frequent issue:")


def test_over_the_hourly_cap_alerts_wait_for_one_digest(
    database: Database, alert_settings: Settings, inbox: tuple[Inbox, int], sentry_events: Any
) -> None:
    set_recipients(database)
    outcomes = []
    for number in range(5):  # five new issues in a minute; the cap is two an hour
        at = NOON + timedelta(seconds=number)
        stored = store(database, sentry_events.message(f"failure kind {'abcde'[number]}"), at)
        outcomes.append(alert_on(database, alert_settings, CONFIG, stored, now=at))

    assert outcomes == ["sent", "sent", "held", "held", "held"]
    assert send_due_digests(database, alert_settings, CONFIG, now=NOON + timedelta(minutes=5)) == 0
    assert send_due_digests(database, alert_settings, CONFIG, now=NOON + timedelta(minutes=11)) == 1
    assert len(inbox[0].messages) == 3
    digest = inbox[0].messages[-1]
    assert digest["Subject"] == "[loom] Digest: 3 alerts on 3 issues"
    body = digest.get_payload()
    assert isinstance(body, str)
    assert "failure kind c" in body and "failure kind e" in body
    assert send_due_digests(database, alert_settings, CONFIG, now=NOON + timedelta(hours=1)) == 0


def test_with_smtp_down_the_event_is_stored_and_the_failed_alert_counted(
    database: Database, make_settings: Callable[..., Settings], sentry_events: Any
) -> None:
    settings = make_settings(
        "errors", ship_logs=False, capture_errors=False, smtp_url=f"smtp://127.0.0.1:{free_port()}"
    )
    set_recipients(database)

    stored = ingest(database, bug(sentry_events, NOON))

    assert alert_on(database, settings, CONFIG, stored) == "failed"
    with database.session() as session:
        assert session.get_one(Issue, stored.issue.id).count == 1
        assert list(session.scalars(select(Alert.state))) == ["failed"]


def test_the_consumer_alerts_after_storing_an_event_from_the_queue(
    settings: Settings,
    actors: ModuleType,
    worker: dramatiq.Worker,
    inbox: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
    sentry_events: Any,
) -> None:
    monkeypatch.setattr(
        actors, "settings", settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{inbox[1]}"})
    )
    set_recipients(actors.database)
    event = sentry_events.message(f"consumer alert {uuid.uuid4().hex[:6]}")

    send(ERRORS_QUEUE, ERRORS_ACTOR, event=event)

    mail = wait_until(lambda: inbox[0].messages, message="the alert email")[0]
    assert mail["Subject"] == f"[loom] New issue: {event['message']}"


def test_a_crafted_fingerprint_never_reaches_another_projects_issue(
    database: Database, alert_settings: Settings, inbox: tuple[Inbox, int], sentry_events: Any
) -> None:
    # Project 2's issue, resolved, with alerts on: the target.
    with database.session() as session:
        shop = Project(name="shop", alert_recipients=orjson.dumps(["shop@example.com"]).decode())
        session.add(shop)
        session.flush()
        shop_id = shop.id
    target = sentry_events.message("checkout failed", fingerprint=["checkout"])
    stored = ingest(database, target, project_id=shop_id)
    with database.session() as session:
        session.get_one(Issue, stored.issue.id).status = "resolved"

    # A client of the default project (its DSN is public) crafts the key of the shop's issue,
    # and another sends the very same fingerprint from a third project.
    with database.session() as session:
        other = Project(name="other")
        session.add(other)
        session.flush()
        other_id = other.id
    crafted = ingest(
        database,
        sentry_events.message("injected title", fingerprint=["project", str(shop_id), "checkout"]),
        project_id=1,
    )
    same = ingest(
        database, sentry_events.message("same words", fingerprint=["checkout"]), project_id=other_id
    )
    for outcome in (crafted, same):
        assert outcome.new_issue
        assert alert_on(database, alert_settings, CONFIG, outcome) is None  # no recipients

    with database.session() as session:
        issue = session.get_one(Issue, stored.issue.id)
        assert (issue.project_id, issue.count, issue.title, issue.status) == (
            shop_id,
            1,
            "checkout failed",
            "resolved",
        )
        assert session.get_one(Issue, crafted.issue.id).project_id == 1
        assert session.get_one(Issue, same.issue.id).project_id == other_id
        assert list(session.scalars(select(Alert))) == []
    assert inbox[0].messages == []


def delivery_failures(final: str) -> float:
    return (
        REGISTRY.get_sample_value("loom_errors_alert_delivery_failures_total", {"final": final})
        or 0.0
    )


def alert_rows(database: Database) -> list[tuple[str, int, datetime | None]]:
    with database.session() as session:
        return [
            (state, attempts, as_utc(due) if due else None)
            for state, attempts, due in session.execute(
                select(Alert.state, Alert.attempts, Alert.next_attempt_at).order_by(Alert.id)
            )
        ]


def test_a_multi_line_title_still_sends_its_alert_on_one_subject_line(
    database: Database, alert_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    set_recipients(database)
    title = "1 validation error for Order\namount\n  Input should be a valid integer " + "x" * 300
    event = {
        "event_id": uuid.uuid4().hex,
        "exception": [{"type": "ValidationError", "value": title}],
    }
    stored = store(database, event, NOON)

    assert alert_on(database, alert_settings, CONFIG, stored, now=NOON) == "sent"

    (mail,) = inbox[0].messages
    folded = mail["Subject"]  # as sent: folded over lines, which a mail reader unfolds
    subject = str(make_header(decode_header(folded.replace("\r\n ", " "))))
    assert subject.startswith(
        "[loom] New issue: ValidationError: 1 validation error for Order amount Input should"
    )
    assert "\n" not in subject and len(subject) <= 200 and subject.endswith("…")
    assert alert_rows(database) == [("sent", 1, None)]


def test_a_refused_or_undelivered_alert_is_retried_until_the_server_takes_it(
    database: Database,
    make_settings: Callable[..., Settings],
    inbox: tuple[Inbox, int],
    sentry_events: Any,
) -> None:
    handler, port = inbox
    config = ErrorsConfig(alert_retry_seconds=60, alert_delivery_attempts=3)
    settings = make_settings(
        "errors", ship_logs=False, capture_errors=False, smtp_url=f"smtp://127.0.0.1:{port}"
    )
    set_recipients(database)
    retried_before = delivery_failures("false")

    handler.refusing = True  # the server answers 554
    first = store(database, bug(sentry_events, NOON), NOON)
    assert alert_on(database, settings, config, first, now=NOON) == "failed"
    assert alert_rows(database) == [("failed", 1, NOON + timedelta(seconds=60))]
    assert retry_due_alerts(database, settings, config, now=NOON + timedelta(seconds=59)) == 0

    handler.refusing = False  # and takes mail again
    assert retry_due_alerts(database, settings, config, now=NOON + timedelta(seconds=60)) == 1
    (mail,) = handler.messages
    assert mail["Subject"] == "[loom] New issue: RuntimeError: payment provider said no"
    assert alert_rows(database) == [("sent", 2, None)]
    assert retry_due_alerts(database, settings, config, now=NOON + timedelta(hours=1)) == 0
    assert delivery_failures("false") == retried_before + 1

    # No server at all, then one comes back on that port.
    down_port = free_port()
    down = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{down_port}"})
    second = store(database, sentry_events.message("second bug"), NOON)
    assert alert_on(database, down, config, second, now=NOON) == "failed"
    assert retry_due_alerts(database, down, config, now=NOON + timedelta(seconds=60)) == 0
    assert alert_rows(database)[1] == ("failed", 2, NOON + timedelta(seconds=180))
    returned = Inbox()
    controller = Controller(returned, hostname="127.0.0.1", port=down_port)
    controller.start()
    try:
        assert retry_due_alerts(database, down, config, now=NOON + timedelta(seconds=180)) == 1
    finally:
        controller.stop()
    assert [mail["Subject"] for mail in returned.messages] == ["[loom] New issue: second bug"]
    assert alert_rows(database)[1] == ("sent", 3, None)


def test_alert_delivery_gives_up_after_its_attempts_and_counts_it(
    database: Database, make_settings: Callable[..., Settings], sentry_events: Any
) -> None:
    config = ErrorsConfig(alert_retry_seconds=1, alert_delivery_attempts=2)
    settings = make_settings(
        "errors", ship_logs=False, capture_errors=False, smtp_url=f"smtp://127.0.0.1:{free_port()}"
    )
    set_recipients(database)
    given_up_before = delivery_failures("true")

    stored = store(database, bug(sentry_events, NOON), NOON)
    assert alert_on(database, settings, config, stored, now=NOON) == "failed"
    assert retry_due_alerts(database, settings, config, now=NOON + timedelta(seconds=1)) == 0

    assert alert_rows(database) == [("failed", 2, None)]
    assert retry_due_alerts(database, settings, config, now=NOON + timedelta(days=1)) == 0
    assert delivery_failures("true") == given_up_before + 1
