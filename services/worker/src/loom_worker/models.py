"""The worker's tables (its own database: LOOM_WORKER_DATABASE_URL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from loom_common.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


JOB_STATUSES = ("queued", "running", "retrying", "succeeded", "failed", "dead")
FINISHED_STATUSES = ("succeeded", "failed", "dead")


class Job(Base):
    """One background job: a Dramatiq message and what became of it.

    The id is the message id, so the sender knows it as soon as it enqueues.
    """

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_jobs_idempotency_key"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    queue: Mapped[str] = mapped_column(String(200))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128), index=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Progress of a long job: done out of total (total unknown until the job knows it).
    progress_done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # POST /api/jobs with an Idempotency-Key: the key, and a digest of the unscrubbed
    # arguments so that a repeat with other arguments is told apart (409).
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    arguments_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SentEmail(Base):
    """An email the SMTP server accepted: a redelivered job skips what is already here."""

    __tablename__ = "sent_emails"

    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScheduleFire(Base):
    """One firing of a schedule: the row is the lock, so two schedulers fire it once."""

    __tablename__ = "schedule_fires"

    schedule: Mapped[str] = mapped_column(String(100), primary_key=True)
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
