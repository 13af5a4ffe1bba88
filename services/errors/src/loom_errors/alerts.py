"""Deciding and sending email alerts after an event is stored.

Three triggers, to each project's recipients: a new issue, a regression, and "more than
N events in M minutes" on one issue. Two brakes keep a flood to a few emails: a cooldown per
issue (a later trigger inside it is suppressed) and a cap per project per hour (over it, the
alert is held and goes out in one digest email later).

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
from loom_errors.alert_emails import alert_email, digest_email
from loom_errors.config import ErrorsConfig
from loom_errors.ingest import Stored
from loom_errors.mailer import send_alert_email
from loom_errors.metrics import ALERT_DELIVERY_FAILURES, ALERTS
from loom_errors.models import Alert, Event, Issue, IssueMinute, Project, as_utc, utcnow

_COUNTED_AGAINST_CAP = ("sending", "sent", "failed")


def _trigger(
    stored: Stored, project: Project, now: datetime, session: Session
) -> tuple[str, int | None] | None:
    if stored.duplicate:
        return None
    if stored.new_issue:
        return "new", None
    if stored.regression:
        return "regression", None
    threshold, minutes = project.alert_event_threshold, project.alert_threshold_minutes
    if threshold is None or minutes is None:
        return None
    since = (now - timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    recent = session.scalar(
        select(func.coalesce(func.sum(IssueMinute.count), 0)).where(
            IssueMinute.issue_id == stored.issue.id, IssueMinute.minute >= since
        )
    )
    recent = int(recent or 0)
    return ("threshold", recent) if recent > threshold else None


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
        recipients: list[str] = orjson.loads(project.alert_recipients)
        if not recipients:
            return None
        trigger = _trigger(stored, project, now, session)
        if trigger is None:
            return None
        kind, recent = trigger
        cooldown = timedelta(minutes=config.alert_cooldown_minutes)
        if (
            kind != "new"
            and issue.last_alerted_at is not None
            and now - as_utc(issue.last_alerted_at) < cooldown
        ):
            ALERTS.labels(kind=kind, outcome="suppressed").inc()
            return "suppressed"
        # Claim the cooldown in one UPDATE: two consumers seeing the same trigger send once.
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
        if not claimed.rowcount:  # type: ignore[attr-defined]
            ALERTS.labels(kind=kind, outcome="suppressed").inc()
            return "suppressed"
        sent_this_hour = session.scalar(
            select(func.count()).where(
                Alert.project_id == project.id,
                Alert.state.in_(_COUNTED_AGAINST_CAP),
                Alert.created_at > now - timedelta(hours=1),
            )
        )
        if (sent_this_hour or 0) >= config.alerts_per_project_hour:
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
        alert_id = alert.id
    # Outside the transaction: a slow SMTP server holds no database lock.
    outcome = _attempt(database, settings, config, alert_id, 0, recipients, subject, body, now)
    ALERTS.labels(kind=kind, outcome=outcome).inc()
    return outcome


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
