"""Deciding and sending email alerts after an event is stored.

Three triggers, to each project's recipients: a new issue, a regression, and "more than
N events in M minutes" on one issue. Two brakes keep a flood to a few emails: a cooldown per
issue (a later trigger inside it is suppressed) and a cap per project per hour (over it, the
alert is held and goes out in one digest email later). An SMTP failure is counted and logged;
the event is stored already and is never lost for it.
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
from loom_errors.ingest_metrics import ALERTS
from loom_errors.mailer import send_email
from loom_errors.models import Alert, Event, Issue, IssueMinute, Project, as_utc, utcnow

_COUNTED_AGAINST_CAP = ("sent", "failed")


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
            project_id=project.id, issue_id=issue.id, kind=kind, state="sent", created_at=now
        )
        session.add(alert)
        session.flush()
    # Outside the transaction: a slow SMTP server holds no database lock.
    outcome = _deliver(settings, config, recipients, subject, body)
    if outcome != "sent":
        with database.session() as session:
            session.execute(update(Alert).where(Alert.id == alert.id).values(state=outcome))
    ALERTS.labels(kind=kind, outcome=outcome).inc()
    return outcome


def _deliver(
    settings: Settings, config: ErrorsConfig, recipients: list[str], subject: str, body: str
) -> str:
    try:
        send_email(settings, recipients, subject, body, config.smtp_timeout_seconds)
    except (OSError, smtplib.SMTPException) as error:
        logger.warning("alert email not sent ({}): {}", type(error).__name__, error)
        return "failed"
    return "sent"


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
        outcome = _deliver(settings, config, recipients, subject, body) if recipients else "sent"
        if outcome == "sent":
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
