"""Storing events: each one is scrubbed, kept, and counted on the issue its fingerprint names.

Per issue only the first event and the latest ``events_per_issue`` are kept (the count,
the affected users and the per-minute counts include every event).

:func:`store_event` does the work inside a caller's session (tests call it directly);
:func:`ingest_event` is what the consumer calls: its own transaction, retried once when a
concurrent consumer created the same issue or event first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loom_common.db import Database
from loom_errors.config import ErrorsConfig, errors_config
from loom_errors.grouping import GROUPING_VERSION, issue_keys
from loom_errors.ingest_metrics import EVENTS_TRIMMED
from loom_errors.models import (
    DEFAULT_PROJECT_ID,
    Event,
    Issue,
    IssueFacet,
    IssueMinute,
    IssueUser,
    Project,
    utcnow,
)
from loom_errors.scrubbing import scrub_event
from loom_errors.sentry_event import SentryEvent, parse_event
from loom_errors.summary import clip, culprit, issue_title


@dataclass(frozen=True)
class Stored:
    """What storing one event did: alerts are decided from it."""

    issue: Issue
    new_issue: bool = False
    regression: bool = False
    duplicate: bool = False


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


def _insert(session: Session) -> Any:
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _new_issue(
    session: Session, event: SentryEvent, key: str, project_id: int, seen_at: datetime
) -> Issue:
    issue = Issue(
        project_id=project_id,
        fingerprint=key,
        grouping_version=GROUPING_VERSION,
        status="unresolved",
        count=1,
        user_count=0,
        first_seen=seen_at,
        last_seen=seen_at,
        **_latest_fields(event),
    )
    session.add(issue)
    session.flush()
    return issue


def _reopens(event: SentryEvent) -> ColumnElement[bool]:
    """Whether this event makes a resolved issue a regression.

    ``resolved_in_next_release``: only an event of another release than the one running when
    it was resolved (the old release still running is not a regression).
    """
    release = clip(event.release, 200) or ""
    return or_(
        Issue.status == "resolved",
        and_(
            Issue.status == "resolved_in_next_release",
            func.coalesce(Issue.resolved_in_release, "") != release,
        ),
    )


def _count_occurrence(
    session: Session, issue: Issue, event: SentryEvent, seen_at: datetime
) -> bool:
    """Add one to the issue in a single UPDATE, so concurrent consumers never lose a count.

    Redelivered or delayed events may arrive out of order: the summary only follows an
    event at least as recent as the last one seen. A resolved issue that happens again
    is unresolved (a regression); an ignored one stays ignored. Returns whether this
    event reopened the issue.
    """
    was_resolved = issue.status in ("resolved", "resolved_in_next_release")
    is_latest = Issue.last_seen <= seen_at
    reopens = _reopens(event)

    def latest(column: Any, value: Any) -> ColumnElement[Any]:
        return case((is_latest, value), else_=column)

    values: dict[str, Any] = {
        name: latest(getattr(Issue, name), value) for name, value in _latest_fields(event).items()
    }
    values.update(
        count=Issue.count + 1,
        first_seen=case((Issue.first_seen > seen_at, seen_at), else_=Issue.first_seen),
        last_seen=latest(Issue.last_seen, seen_at),
        regressed_at=case((reopens, seen_at), else_=Issue.regressed_at),
        status=case((reopens, "unresolved"), else_=Issue.status),
    )
    session.execute(
        update(Issue)
        .where(Issue.id == issue.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(issue)
    return was_resolved and issue.status == "unresolved"


def _count_user(session: Session, issue: Issue, event: SentryEvent) -> None:
    key = event.user.key() if event.user is not None else None
    if key is None:
        return
    # RETURNING, not rowcount: psycopg reports 1 for a row ON CONFLICT skipped.
    added = session.scalar(
        _insert(session)(IssueUser)
        .values(issue_id=issue.id, user_key=key)
        .on_conflict_do_nothing(index_elements=["issue_id", "user_key"])
        .returning(IssueUser.issue_id)
    )
    if added is not None:
        session.execute(
            update(Issue)
            .where(Issue.id == issue.id)
            .values(user_count=Issue.user_count + 1)
            .execution_options(synchronize_session=False)
        )


def _count_minute(session: Session, issue: Issue, seen_at: datetime) -> None:
    minute = seen_at.replace(second=0, microsecond=0)
    statement = _insert(session)(IssueMinute).values(issue_id=issue.id, minute=minute, count=1)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["issue_id", "minute"], set_={"count": IssueMinute.count + 1}
        )
    )


def _count_facet(session: Session, issue: Issue, event: SentryEvent, seen_at: datetime) -> None:
    facet = {
        "environment": clip(event.environment, 64) or "",
        "release": clip(event.release, 200) or "",
        "service": _service(event) or "",
        "level": event.level,
    }
    statement = _insert(session)(IssueFacet).values(
        issue_id=issue.id, count=1, first_seen=seen_at, last_seen=seen_at, **facet
    )
    excluded = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["issue_id", *facet],
            set_={
                "count": IssueFacet.count + 1,
                "first_seen": case(
                    (excluded.first_seen < IssueFacet.first_seen, excluded.first_seen),
                    else_=IssueFacet.first_seen,
                ),
                "last_seen": case(
                    (excluded.last_seen > IssueFacet.last_seen, excluded.last_seen),
                    else_=IssueFacet.last_seen,
                ),
            },
        )
    )


def _trim_events(session: Session, issue: Issue, keep_latest: int) -> None:
    """Keep the issue's first event and its latest ``keep_latest``; delete the rest."""
    if issue.count <= keep_latest + 1:
        return
    order = (Event.timestamp, Event.id)
    first = select(Event.id).where(Event.issue_id == issue.id).order_by(*order).limit(1)
    latest = (
        select(Event.id)
        .where(Event.issue_id == issue.id)
        .order_by(*(column.desc() for column in order))
        .limit(keep_latest)
    )
    kept = [*session.scalars(first), *session.scalars(latest)]
    trimmed = session.execute(
        delete(Event)
        .where(Event.issue_id == issue.id, Event.id.not_in(kept))
        .execution_options(synchronize_session=False)
    )
    EVENTS_TRIMMED.inc(trimmed.rowcount)  # type: ignore[attr-defined]


def _find_issue(session: Session, event: SentryEvent, project_id: int) -> tuple[Issue | None, str]:
    """The issue under the current rules, else under an older rule set; and the current key."""
    keys = issue_keys(event, project_id)
    for version, key in keys:
        issue = session.scalar(select(Issue).where(Issue.fingerprint == key))
        if issue is not None and (version == GROUPING_VERSION or issue.grouping_version == version):
            return issue, keys[0][1]
    return None, keys[0][1]


def record_event(
    session: Session,
    raw: Any,
    *,
    project_id: int | None = None,
    received_at: datetime | None = None,
    config: ErrorsConfig | None = None,
) -> Stored:
    """Store one Sentry event and count it on its issue (created if new).

    Idempotent: an ``event_id`` already stored changes nothing (``duplicate``).
    Raises :class:`~loom_errors.sentry_event.MalformedEvent` for an unusable event, and
    ``IntegrityError`` on flush when another transaction stored the same issue or event
    first (retry in a new transaction; :func:`ingest` does).
    """
    config = config or errors_config()
    event = parse_event(raw)
    project_id = project_id or DEFAULT_PROJECT_ID
    received_at = received_at or utcnow()
    stored = session.scalar(select(Event).where(Event.event_id == event.event_id))
    if stored is not None:
        return Stored(session.get_one(Issue, stored.issue_id), duplicate=True)
    if session.get(Project, project_id) is None:
        project_id = DEFAULT_PROJECT_ID  # a project deleted while its events were queued

    seen_at = _occurred_at(event, received_at)
    issue, key = _find_issue(session, event, project_id)
    new_issue = issue is None
    regression = False
    if issue is None:
        issue = _new_issue(session, event, key, project_id, seen_at)
    else:
        regression = _count_occurrence(session, issue, event, seen_at)

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
            payload=orjson.dumps(scrub_event(raw), default=str).decode(),
        )
    )
    session.flush()
    _count_user(session, issue, event)
    _count_minute(session, issue, seen_at)
    _count_facet(session, issue, event, seen_at)
    _trim_events(session, issue, config.events_per_issue)
    session.flush()
    session.refresh(issue)
    return Stored(issue, new_issue=new_issue, regression=regression)


def store_event(
    session: Session,
    raw: Any,
    *,
    project_id: int | None = None,
    received_at: datetime | None = None,
) -> Issue:
    """:func:`record_event`, returning the issue."""
    return record_event(session, raw, project_id=project_id, received_at=received_at).issue


def ingest(database: Database, raw: Any, project_id: int | None = None) -> Stored:
    """Store one event in its own transaction (see :func:`record_event`)."""
    try:
        with database.session() as session:
            return record_event(session, raw, project_id=project_id)
    except IntegrityError:
        # Lost a race on a new issue or a redelivered event: the rows exist now.
        with database.session() as session:
            return record_event(session, raw, project_id=project_id)


def ingest_event(database: Database, raw: Any, project_id: int | None = None) -> Issue:
    """:func:`ingest`, returning the issue."""
    return ingest(database, raw, project_id).issue
