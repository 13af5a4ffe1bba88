"""The retention period: events older than it are deleted, a batch per transaction.

Small batches keep each transaction short, so the consumer is never blocked for long on
SQLite's single writer lock or on PostgreSQL row locks. Issues with no event left that
were last seen before the cutoff go too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from loom_common.db import Database
from loom_errors.config import ErrorsConfig
from loom_errors.models import Alert, Event, Issue, IssueMinute, utcnow


@dataclass(frozen=True)
class Deleted:
    events: int
    issues: int


def _delete_in_batches(
    database: Database, statement_for_ids: object, model: type, size: int
) -> int:
    total = 0
    while True:
        with database.session() as session:
            ids = list(session.scalars(statement_for_ids.limit(size)))  # type: ignore[attr-defined]
            if not ids:
                return total
            session.execute(delete(model).where(model.id.in_(ids)))  # type: ignore[attr-defined]
            total += len(ids)


def enforce_retention(
    database: Database, config: ErrorsConfig, now: datetime | None = None
) -> Deleted:
    cutoff = (now or utcnow()) - timedelta(days=config.retention_days)
    events = _delete_in_batches(
        database, select(Event.id).where(Event.received_at < cutoff), Event, config.retention_batch
    )
    without_events = select(Issue.id).where(
        Issue.last_seen < cutoff, ~select(Event.id).where(Event.issue_id == Issue.id).exists()
    )
    issues = _delete_in_batches(database, without_events, Issue, config.retention_batch)
    with database.session() as session:
        session.execute(delete(IssueMinute).where(IssueMinute.minute < cutoff))
        session.execute(delete(Alert).where(Alert.created_at < cutoff))
    return Deleted(events=events, issues=issues)
