"""Reading issues and events for the API: filters, keyset pagination, response models.

Pages are keyset-paginated (no OFFSET): issues by (last_seen, id) and events by (timestamp, id),
newest first, so a page costs the same wherever it is; the cursor holds the last item's key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from loom_errors.cursors import INVALID_CURSOR, InvalidCursor, decode_cursor, encode_cursor
from loom_errors.models import Event, Issue, as_utc
from loom_errors.schemas import EventOut, EventPage, IssueOut, IssuePage, IssueQuery, PageQuery


def issue_out(issue: Issue) -> IssueOut:
    return IssueOut(
        id=issue.id,
        title=issue.title,
        culprit=issue.culprit,
        level=issue.level,
        status=issue.status,
        count=issue.count,
        first_seen=as_utc(issue.first_seen),
        last_seen=as_utc(issue.last_seen),
        service=issue.service,
        environment=issue.environment,
        release=issue.release,
        last_event_id=issue.last_event_id,
    )


def event_out(event: Event) -> EventOut:
    payload: dict[str, Any] = orjson.loads(event.payload)
    return EventOut(
        event_id=event.event_id,
        issue_id=event.issue_id,
        timestamp=as_utc(event.timestamp),
        received_at=as_utc(event.received_at),
        request_id=event.request_id,
        level=event.level,
        service=event.service,
        environment=event.environment,
        release=event.release,
        payload=payload,
    )


def _position(listing: str, cursor: str) -> tuple[datetime, int]:
    """The (time, id) key stored in a cursor of ``listing``. Raises InvalidCursor."""
    try:
        moment, row_id = decode_cursor(listing, cursor)
        return as_utc(datetime.fromisoformat(moment)), int(row_id)
    except (TypeError, ValueError):
        raise InvalidCursor(INVALID_CURSOR) from None


def _cursor(listing: str, moment: datetime, row_id: int) -> str:
    return encode_cursor(listing, [as_utc(moment).isoformat(), row_id])


def _filtered_issues(query: IssueQuery) -> Select[Issue]:
    statement = select(Issue)
    for column, wanted in (
        (Issue.status, query.status),
        (Issue.service, query.service),
        (Issue.environment, query.environment),
        (Issue.level, query.level),
    ):
        if wanted is not None:
            statement = statement.where(column == wanted)
    if query.q is not None:
        text = query.q.lower()
        statement = statement.where(
            or_(
                func.lower(Issue.title).contains(text, autoescape=True),
                func.lower(Issue.culprit).contains(text, autoescape=True),
            )
        )
    if query.request_id is not None:
        with_request = select(Event.issue_id).where(Event.request_id == query.request_id)
        statement = statement.where(Issue.id.in_(with_request))
    return statement


def list_issues(session: Session, query: IssueQuery) -> IssuePage:
    """One page of issues, most recently seen first. Raises InvalidCursor."""
    statement = _filtered_issues(query)
    if query.cursor is not None:
        last_seen, issue_id = _position("issues", query.cursor)
        statement = statement.where(
            or_(
                Issue.last_seen < last_seen,
                and_(Issue.last_seen == last_seen, Issue.id < issue_id),
            )
        )
    statement = statement.order_by(Issue.last_seen.desc(), Issue.id.desc()).limit(query.limit + 1)
    issues = list(session.scalars(statement))
    next_cursor = None
    if len(issues) > query.limit:
        issues = issues[: query.limit]
        last = issues[-1]
        next_cursor = _cursor("issues", last.last_seen, last.id)
    return IssuePage(items=[issue_out(issue) for issue in issues], next_cursor=next_cursor)


def list_events(session: Session, issue_id: int, query: PageQuery) -> EventPage:
    """One page of an issue's events, latest first (by the event's time). Raises InvalidCursor."""
    statement = select(Event).where(Event.issue_id == issue_id)
    if query.cursor is not None:
        timestamp, event_row = _position("events", query.cursor)
        statement = statement.where(
            or_(
                Event.timestamp < timestamp,
                and_(Event.timestamp == timestamp, Event.id < event_row),
            )
        )
    statement = statement.order_by(Event.timestamp.desc(), Event.id.desc()).limit(query.limit + 1)
    events = list(session.scalars(statement))
    next_cursor = None
    if len(events) > query.limit:
        events = events[: query.limit]
        next_cursor = _cursor("events", events[-1].timestamp, events[-1].id)
    return EventPage(items=[event_out(event) for event in events], next_cursor=next_cursor)


def find_event(session: Session, event_id: str) -> Event | None:
    """The event with this id, written with or without hyphens, in either case."""
    normalized = event_id.replace("-", "").lower()
    return session.scalar(select(Event).where(Event.event_id == normalized))
