"""The errors service's tables (its own database: LOOM_ERRORS_DATABASE_URL).

Times are stored in UTC. SQLite hands them back without a zone and PostgreSQL in the
session's zone, so read them through :func:`as_utc`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ISSUE_STATUSES = ("unresolved", "resolved", "resolved_in_next_release", "ignored")
DEFAULT_PROJECT_ID = 1  # "loom": Loom's own services report into it (events without a project)


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """The same instant as an aware UTC datetime (a naive one is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Issue(Base):
    """Every event of one project with the same fingerprint, counted once; the summary
    reflects the latest event.

    The fingerprint is unique per project, not across projects: an SDK picks its own
    fingerprint, so whatever key a client crafts, it can only ever name an issue of the
    project its DSN key belongs to.
    """

    __tablename__ = "issues"
    __table_args__ = (
        Index("ix_issues_last_seen_id", "last_seen", "id"),
        UniqueConstraint("project_id", "fingerprint", name="uq_issues_project_id_fingerprint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id"), default=DEFAULT_PROJECT_ID, server_default="1"
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    grouping_version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    culprit: Mapped[str | None] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), default="unresolved")
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_event_id: Mapped[str] = mapped_column(String(32))
    service: Mapped[str | None] = mapped_column(String(64))
    environment: Mapped[str | None] = mapped_column(String(64))
    release: Mapped[str | None] = mapped_column(String(200))
    user_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The issue's release when it was marked resolved_in_next_release: an event of that
    # same release is the old bug still running, not a regression.
    resolved_in_release: Mapped[str | None] = mapped_column(String(200))
    regressed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Event(Base):
    """One received Sentry event, kept whole (``payload``, JSON text) for the event view."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_issue_id_timestamp", "issue_id", "timestamp", "id"),
        Index("ix_events_received_at", "received_at"),  # retention deletes by age
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    level: Mapped[str] = mapped_column(String(16))
    service: Mapped[str | None] = mapped_column(String(64))
    environment: Mapped[str | None] = mapped_column(String(64))
    release: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(128), index=True)
    payload: Mapped[str] = mapped_column(Text)


class Project(Base):
    """Where events are sent: a DSN names one project. Alert settings are per project."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # JSON list of email addresses that receive this project's alerts.
    alert_recipients: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    # "more than N events in M minutes" on one issue; off when either is null.
    alert_event_threshold: Mapped[int | None] = mapped_column(Integer)
    alert_threshold_minutes: Mapped[int | None] = mapped_column(Integer)


class ProjectKey(Base):
    """A DSN's public key. Revoked keys stay, so a client using one hears 403, not 401."""

    __tablename__ = "project_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    public_key: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IssueUser(Base):
    """Who was affected by an issue (user id, else email, else IP), once per issue."""

    __tablename__ = "issue_users"

    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True
    )
    user_key: Mapped[str] = mapped_column(String(200), primary_key=True)


class IssueFacet(Base):
    """Events of an issue per environment, release, service and level ('' for none).

    Lets a filtered issue list show counts of only the matching events, whatever the cap
    on stored events has deleted.
    """

    __tablename__ = "issue_facets"

    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True
    )
    environment: Mapped[str] = mapped_column(String(64), primary_key=True)
    release: Mapped[str] = mapped_column(String(200), primary_key=True)
    service: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IssueMinute(Base):
    """Events of an issue per minute: alert thresholds and sparklines without counting rows."""

    __tablename__ = "issue_minutes"

    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class RateBucket(Base):
    """A token bucket per project, shared by every gunicorn worker through the database."""

    __tablename__ = "rate_buckets"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)  # epoch seconds


class Alert(Base):
    """Each alert decided: sent at once, or held for the project's digest when over its cap."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_project_id_created_at", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # new | regression | threshold
    # sending (handed to SMTP now) | sent (the server accepted it) | failed | held | digested
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Delivery attempts made; a failed alert with a next attempt is retried then, one
    # without has used up its attempts.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
