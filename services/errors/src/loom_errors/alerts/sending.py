"""Sending the email alerts that :mod:`loom_errors.alerts.policy` calls for.

Two brakes keep a flood to a few emails: a cooldown per issue (a later trigger inside it is
suppressed) and a cap per project per hour (over it, the alert is held and goes out in one
digest email later).

An alert is marked sent only once the SMTP server accepted its email. A failed delivery is
counted, logged and tried again with a growing delay (``alert_retry_seconds`` doubled per
attempt, up to ``alert_delivery_attempts``) by :func:`retry_due_alerts`, which the consumer
runs with the digests. The event is stored already and is never lost for it.
"""

from __future__ import annotations

import smtplib
import time
from datetime import datetime, timedelta

import orjson
from loguru import logger
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from loom_common.db import Database
from loom_common.settings import Settings
from loom_errors.alerts.emails import alert_email, digest_email
from loom_errors.alerts.mailer import send_alert_email
from loom_errors.alerts.policy import AlertRules, in_cooldown, trigger
from loom_errors.config import ErrorsConfig
from loom_errors.metrics import ALERT_DELIVERY_FAILURES, ALERTS
from loom_errors.models import Alert, Event, Issue, Project, utcnow
from loom_errors.store.events import Stored

_COUNTED_AGAINST_CAP = ("sending", "sent", "failed")


def alert_on(
    database: Database,
    settings: Settings,
    config: ErrorsConfig,
    stored: Stored,
    now: datetime | None = None,
) -> str | None:
    """Send (or hold, or suppress) the alert this stored event calls for; return the outcome."""
    now = now or utcnow()
    with database.session() as session:
        issue = session.get_one(Issue, stored.issue.id)
        project = session.get_one(Project, issue.project_id)
        rules = AlertRules.of_project(project)
        called_for = trigger(session, rules, stored, now)
        if called_for is None:
            return None
        kind, recent = called_for
        if not _claim_cooldown(session, config, issue, kind, now):
            ALERTS.labels(kind=kind, outcome="suppressed").inc()
            return "suppressed"
        if _over_hourly_cap(session, config, project.id, now):
            session.add(
                Alert(
                    project_id=project.id,
                    issue_id=issue.id,
                    kind=kind,
                    state="held",
                    created_at=now,
                )
            )
            ALERTS.labels(kind=kind, outcome="held").inc()
            return "held"
        alert_id, subject, body = _record_sending(
            session, settings, config, kind, project, issue, recent, now
        )
    # Outside the transaction: a slow SMTP server holds no database lock.
    recipients = list(rules.recipients)
    outcome = _attempt(database, settings, config, alert_id, 0, recipients, subject, body, now)
    ALERTS.labels(kind=kind, outcome=outcome).inc()
    return outcome


def _claim_cooldown(
    session: Session, config: ErrorsConfig, issue: Issue, kind: str, now: datetime
) -> bool:
    """Start the issue's cooldown; False if it is running, or another consumer just started it."""
    cooldown = timedelta(minutes=config.alert_cooldown_minutes)
    if in_cooldown(kind, issue.last_alerted_at, now, cooldown):
        return False
    # One UPDATE from the value we read: two consumers seeing the same trigger send once.
    claimed = session.execute(
        update(Issue)
        .where(Issue.id == issue.id)
        .where(
            Issue.last_alerted_at.is_(None)
            if issue.last_alerted_at is None
            else Issue.last_alerted_at == issue.last_alerted_at
        )
        .values(last_alerted_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _over_hourly_cap(
    session: Session, config: ErrorsConfig, project_id: int, now: datetime
) -> bool:
    """Whether the project had its share of alert emails in the last hour (the next is held)."""
    sent_this_hour = session.scalar(
        select(func.count()).where(
            Alert.project_id == project_id,
            Alert.state.in_(_COUNTED_AGAINST_CAP),
            Alert.created_at > now - timedelta(hours=1),
        )
    )
    return (sent_this_hour or 0) >= config.alerts_per_project_hour


def _record_sending(
    session: Session,
    settings: Settings,
    config: ErrorsConfig,
    kind: str,
    project: Project,
    issue: Issue,
    recent: int | None,
    now: datetime,
) -> tuple[int, str, str]:
    """Write the alert's email and record it as being sent; its id, subject and body."""
    latest = session.scalar(select(Event.payload).where(Event.event_id == issue.last_event_id))
    subject, body = alert_email(
        kind, project, issue, latest, settings.service_url("errors"), recent
    )
    alert = Alert(
        project_id=project.id,
        issue_id=issue.id,
        kind=kind,
        state="sending",
        created_at=now,
        # Due at once should this process die before the attempt is recorded.
        next_attempt_at=now + _retry_delay(config, 1),
    )
    session.add(alert)
    session.flush()
    return alert.id, subject, body


def _retry_delay(config: ErrorsConfig, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: doubling from the configured base."""
    return timedelta(seconds=config.alert_retry_seconds * 2 ** (attempts - 1))


def _deliver(
    settings: Settings, config: ErrorsConfig, recipients: list[str], subject: str, body: str
) -> bool:
    try:
        send_alert_email(settings, recipients, subject, body, config.smtp_timeout_seconds)
    except (OSError, ValueError, smtplib.SMTPException) as error:
        # ValueError: a message that cannot be built (a header email refuses).
        logger.warning("alert email not sent ({}): {}", type(error).__name__, error)
        return False
    return True


def _attempt(
    database: Database,
    settings: Settings,
    config: ErrorsConfig,
    alert_id: int,
    attempts_before: int,
    recipients: list[str],
    subject: str,
    body: str,
    now: datetime,
) -> str:
    """One delivery attempt of an alert, recorded: "sent", or "failed" (retried if attempts
    are left)."""
    attempts = attempts_before + 1
    if _deliver(settings, config, recipients, subject, body):
        values: dict[str, object] = {"state": "sent", "next_attempt_at": None}
        outcome = "sent"
    else:
        retry = attempts < config.alert_delivery_attempts
        ALERT_DELIVERY_FAILURES.labels(final="false" if retry else "true").inc()
        values = {
            "state": "failed",
            "next_attempt_at": now + _retry_delay(config, attempts) if retry else None,
        }
        outcome = "failed"
    with database.session() as session:
        session.execute(
            update(Alert).where(Alert.id == alert_id).values(attempts=attempts, **values)
        )
    return outcome


def retry_due_alerts(
    database: Database, settings: Settings, config: ErrorsConfig, now: datetime | None = None
) -> int:
    """Try again each alert whose delivery failed and whose next attempt is due; the number sent.

    Each is claimed first (its next attempt moved on in one UPDATE), so two consumers never
    send the same alert twice. The email is written from the issue as it is now.
    """
    now = now or utcnow()
    with database.session() as session:
        due = list(
            session.execute(
                select(Alert.id, Alert.attempts, Alert.next_attempt_at).where(
                    Alert.state.in_(("sending", "failed")), Alert.next_attempt_at <= now
                )
            )
        )
    sent = 0
    for alert_id, attempts, next_attempt_at in due:
        with database.session() as session:
            claimed = session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.next_attempt_at == next_attempt_at)
                .values(next_attempt_at=now + _retry_delay(config, attempts + 1))
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                continue
            alert = session.get_one(Alert, alert_id)
            issue = session.get_one(Issue, alert.issue_id)
            project = session.get_one(Project, alert.project_id)
            recipients: list[str] = orjson.loads(project.alert_recipients)
            if not recipients:  # nobody to tell any more: give up on it
                alert.next_attempt_at = None
                continue
            latest = session.scalar(
                select(Event.payload).where(Event.event_id == issue.last_event_id)
            )
            kind = alert.kind
            subject, body = alert_email(
                kind, project, issue, latest, settings.service_url("errors")
            )
        outcome = _attempt(
            database, settings, config, alert_id, attempts, recipients, subject, body, now
        )
        ALERTS.labels(kind=kind, outcome=outcome).inc()
        sent += outcome == "sent"
    return sent


def send_due_digests(
    database: Database, settings: Settings, config: ErrorsConfig, now: datetime | None = None
) -> int:
    """One digest per project whose oldest held alert waited long enough; the number sent."""
    now = now or utcnow()
    due_before = now - timedelta(minutes=config.digest_after_minutes)
    sent = 0
    with database.session() as session:
        projects = list(
            session.scalars(
                select(Alert.project_id)
                .where(Alert.state == "held")
                .group_by(Alert.project_id)
                .having(func.min(Alert.created_at) <= due_before)
            )
        )
    for project_id in projects:
        with database.session() as session:
            project = session.get_one(Project, project_id)
            held = list(
                session.execute(
                    select(Alert, Issue)
                    .join(Issue, Issue.id == Alert.issue_id)
                    .where(Alert.project_id == project_id, Alert.state == "held")
                    .order_by(Alert.id)
                )
            )
            recipients: list[str] = orjson.loads(project.alert_recipients)
            subject, body = digest_email(
                project,
                [(alert.kind, issue) for alert, issue in held],
                settings.service_url("errors"),
            )
            held_ids = [alert.id for alert, _ in held]
        delivered = _deliver(settings, config, recipients, subject, body) if recipients else True
        outcome = "sent" if delivered else "failed"
        if not delivered:  # the held alerts stay held: the next look for due digests retries
            ALERT_DELIVERY_FAILURES.labels(final="false").inc()
        if delivered:
            with database.session() as session:
                session.execute(
                    update(Alert).where(Alert.id.in_(held_ids)).values(state="digested")
                )
            sent += 1
        ALERTS.labels(kind="digest", outcome=outcome).inc()
    return sent


class DigestClock:
    """Lets the consumer look for due digests at most once per ``interval`` seconds."""

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self._next = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        return True
