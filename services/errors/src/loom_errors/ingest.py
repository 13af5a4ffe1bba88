"""Storing events: each one is kept, and counted on the issue its fingerprint names.

:func:`store_event` does the work inside a caller's session (tests call it directly);
:func:`ingest_event` is what the consumer calls: its own transaction, retried once when a
concurrent consumer created the same issue or event first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loom_common.db import Database
from loom_errors.grouping import GROUPING_VERSION, fingerprint
from loom_errors.models import Event, Issue, utcnow
from loom_errors.sentry_event import SentryEvent, parse_event
from loom_errors.summary import clip, culprit, issue_title


def _occurred_at(event: SentryEvent, received_at: datetime) -> datetime:
    # A client clock ahead of ours must not push last_seen into the future.
    if event.timestamp is None or event.timestamp > received_at:
        return received_at
    return event.timestamp


def _service(event: SentryEvent) -> str | None:
    return clip(event.tags.get("service") or event.server_name, 64)


def _latest_fields(event: SentryEvent) -> dict[str, Any]:
    """The issue columns that describe its most recent event."""
    return {
        "last_event_id": event.event_id,
        "title": issue_title(event),
        "culprit": culprit(event),
        "level": event.level,
        "service": _service(event),
        "environment": clip(event.environment, 64),
        "release": clip(event.release, 200),
    }


def _new_issue(session: Session, event: SentryEvent, key: str, seen_at: datetime) -> Issue:
    issue = Issue(
        fingerprint=key,
        grouping_version=GROUPING_VERSION,
        status="unresolved",
        count=1,
        first_seen=seen_at,
        last_seen=seen_at,
        **_latest_fields(event),
    )
    session.add(issue)
    session.flush()
    return issue


def _count_occurrence(
    session: Session, issue: Issue, event: SentryEvent, seen_at: datetime
) -> None:
    """Add one to the issue in a single UPDATE, so concurrent consumers never lose a count.

    Redelivered or delayed events may arrive out of order: the summary only follows an
    event at least as recent as the last one seen. A resolved issue that happens again
    is unresolved (a regression); an ignored one stays ignored.
    """
    is_latest = Issue.last_seen <= seen_at

    def latest(column: Any, value: Any) -> ColumnElement[Any]:
        return case((is_latest, value), else_=column)

    values: dict[str, Any] = {
        name: latest(getattr(Issue, name), value) for name, value in _latest_fields(event).items()
    }
    values.update(
        count=Issue.count + 1,
        first_seen=case((Issue.first_seen > seen_at, seen_at), else_=Issue.first_seen),
        last_seen=latest(Issue.last_seen, seen_at),
        status=case((Issue.status == "resolved", "unresolved"), else_=Issue.status),
    )
    session.execute(
        update(Issue)
        .where(Issue.id == issue.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(issue)


def store_event(session: Session, raw: Any, *, received_at: datetime | None = None) -> Issue:
    """Store one Sentry event and count it on its issue (created if new); return the issue.

    Idempotent: an ``event_id`` already stored changes nothing and returns its issue.
    Raises :class:`~loom_errors.sentry_event.MalformedEvent` for an unusable event, and
    ``IntegrityError`` on flush when another transaction stored the same issue or event
    first (retry in a new transaction; :func:`ingest_event` does).
    """
    event = parse_event(raw)
    received_at = received_at or utcnow()
    stored = session.scalar(select(Event).where(Event.event_id == event.event_id))
    if stored is not None:
        return session.get_one(Issue, stored.issue_id)

    seen_at = _occurred_at(event, received_at)
    key = fingerprint(event)
    issue = session.scalar(select(Issue).where(Issue.fingerprint == key))
    if issue is None:
        issue = _new_issue(session, event, key, seen_at)
    else:
        _count_occurrence(session, issue, event, seen_at)

    session.add(
        Event(
            event_id=event.event_id,
            issue_id=issue.id,
            received_at=received_at,
            timestamp=seen_at,
            level=event.level,
            service=_service(event),
            environment=clip(event.environment, 64),
            release=clip(event.release, 200),
            request_id=clip(event.tags.get("request_id"), 128),
            payload=orjson.dumps(raw, default=str).decode(),
        )
    )
    session.flush()
    return issue


def ingest_event(database: Database, raw: Any) -> Issue:
    """Store one event in its own transaction (see :func:`store_event`)."""
    try:
        with database.session() as session:
            return store_event(session, raw)
    except IntegrityError:
        # Lost a race on a new issue or a redelivered event: the rows exist now.
        with database.session() as session:
            return store_event(session, raw)
