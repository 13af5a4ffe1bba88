"""Reading issues and events for the API: filters, keyset pagination, response models.

Pages are keyset-paginated (no OFFSET): issues by (last_seen, id) and events by (timestamp, id),
newest first, so a page costs the same wherever it is; the cursor holds the last item's key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from loom_common.cursors import decode_cursor, encode_cursor
from loom_errors.models import Event, Issue, IssueFacet, as_utc
from loom_errors.schemas import EventOut, EventPage, IssueOut, IssuePage, IssueQuery, PageQuery


def issue_out(issue: Issue, matched: tuple[int, datetime, datetime] | None = None) -> IssueOut:
    """The issue; ``matched`` (count, first seen, last seen) of the events a filter kept."""
    count, first_seen, last_seen = matched or (issue.count, issue.first_seen, issue.last_seen)
    return IssueOut(
        id=issue.id,
        project_id=issue.project_id,
        title=issue.title,
        culprit=issue.culprit,
        level=issue.level,
        status=issue.status,
        count=count,
        total_count=issue.count,
        user_count=issue.user_count,
        first_seen=as_utc(first_seen),
        last_seen=as_utc(last_seen),
        service=issue.service,
        environment=issue.environment,
        release=issue.release,
        last_event_id=issue.last_event_id,
        grouping_version=issue.grouping_version,
        regressed_at=as_utc(issue.regressed_at) if issue.regressed_at else None,
        resolved_at=as_utc(issue.resolved_at) if issue.resolved_at else None,
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


_FACET_FILTERS = ("environment", "release", "service", "level")


def _issue_filters(query: IssueQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.status is not None:
        conditions.append(Issue.status == query.status)
    if query.project is not None:
        conditions.append(Issue.project_id == query.project)
    if query.q is not None:
        text = query.q.lower()
        conditions.append(
            or_(
                func.lower(Issue.title).contains(text, autoescape=True),
                func.lower(Issue.culprit).contains(text, autoescape=True),
            )
        )
    if query.request_id is not None:
        with_request = select(Event.issue_id).where(Event.request_id == query.request_id)
        conditions.append(Issue.id.in_(with_request))
    return conditions


def _matching(
    query: IssueQuery,
) -> tuple[Select[Issue, int, datetime, datetime], dict[str, Any]]:
    """Issues with (count, first seen, last seen) of the events the filters keep, and those
    three columns by name (to sort on)."""
    facet_filters = {
        name: getattr(query, name) for name in _FACET_FILTERS if getattr(query, name) is not None
    }
    if not facet_filters:
        columns = (Issue.count, Issue.first_seen, Issue.last_seen)
        statement = select(Issue, *columns).where(*_issue_filters(query))
        return statement, dict(zip(("count", "first_seen", "last_seen"), columns, strict=True))
    facets = (
        select(
            IssueFacet.issue_id,
            func.sum(IssueFacet.count).label("count"),
            func.min(IssueFacet.first_seen).label("first_seen"),
            func.max(IssueFacet.last_seen).label("last_seen"),
        )
        .where(*(getattr(IssueFacet, name) == value for name, value in facet_filters.items()))
        .group_by(IssueFacet.issue_id)
        .subquery()
    )
    filtered = (
        select(Issue, facets.c.count, facets.c.first_seen, facets.c.last_seen)
        .join(facets, facets.c.issue_id == Issue.id)
        .where(*_issue_filters(query))
    )
    return filtered, {name: facets.c[name] for name in ("count", "first_seen", "last_seen")}


def list_issues(session: Session, query: IssueQuery) -> IssuePage:
    """One page of issues, newest (or largest) first by ``query.sort``. Raises InvalidCursor."""
    statement, columns = _matching(query)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    sort_column = {"count": 1, "first_seen": 2, "last_seen": 3}[query.sort]
    sort_key = columns[query.sort]
    listing = f"issues:{query.sort}"
    if query.cursor is not None:
        value_kind = int if query.sort == "count" else datetime
        value, issue_id = decode_cursor(listing, query.cursor, value_kind, int)
        statement = statement.where(
            or_(sort_key < value, and_(sort_key == value, Issue.id < issue_id))
        )
    statement = statement.order_by(sort_key.desc(), Issue.id.desc()).limit(query.limit + 1)
    rows: list[Any] = list(session.execute(statement))
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        last_value = last[sort_column]
        next_cursor = encode_cursor(listing, last_value, last[0].id)
    return IssuePage(
        items=[issue_out(row[0], (row[1], row[2], row[3])) for row in rows],
        next_cursor=next_cursor,
        total=total,
    )


def list_events(session: Session, issue_id: int, query: PageQuery) -> EventPage:
    """One page of an issue's events, latest first (by the event's time). Raises InvalidCursor."""
    statement = select(Event).where(Event.issue_id == issue_id)
    if query.cursor is not None:
        timestamp, event_row = decode_cursor("events", query.cursor, datetime, int)
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
        next_cursor = encode_cursor("events", events[-1].timestamp, events[-1].id)
    return EventPage(items=[event_out(event) for event in events], next_cursor=next_cursor)


def find_event(session: Session, event_id: str) -> Event | None:
    """The event with this id, written with or without hyphens, in either case."""
    normalized = event_id.replace("-", "").lower()
    return session.scalar(select(Event).where(Event.event_id == normalized))
