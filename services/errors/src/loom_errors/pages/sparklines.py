"""Sparklines of the issue list: events per hour over the last 24 hours, for a page of issues
in one query over the per-minute counts (``issue_minutes``), drawn as inline SVG bars."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Integer, SQLColumnExpression, cast, func, select
from sqlalchemy.orm import Session

from loom_errors.models import IssueMinute

HOURS = 24
SECONDS_PER_HOUR = 3600
BAR_WIDTH = 4
HEIGHT = 24


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    count: int
    start: datetime


@dataclass(frozen=True)
class Sparkline:
    bars: list[Bar]
    total: int
    width: int = HOURS * BAR_WIDTH
    height: int = HEIGHT


def _hour_number(session: Session, minute: SQLColumnExpression[datetime]) -> ColumnElement[int]:
    """Whole hours since the epoch, in SQL: the bucket a minute falls in, whatever the zone."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", minute) / SECONDS_PER_HOUR), Integer)
    # SQLite keeps UTC times as text; strftime('%s') reads them as UTC.
    return cast(func.strftime("%s", minute), Integer) // SECONDS_PER_HOUR


def hourly_counts(
    session: Session, issue_ids: Collection[int], now: datetime
) -> dict[int, list[int]]:
    """Events per hour of each issue, oldest hour first, the last being the current hour."""
    counts = {issue_id: [0] * HOURS for issue_id in issue_ids}
    if not counts:
        return counts
    first_hour = int(now.timestamp()) // SECONDS_PER_HOUR - HOURS + 1
    since = datetime.fromtimestamp(first_hour * SECONDS_PER_HOUR, UTC)
    hour = _hour_number(session, IssueMinute.minute)
    rows = session.execute(
        select(IssueMinute.issue_id, hour, func.sum(IssueMinute.count))
        .where(IssueMinute.issue_id.in_(list(counts)), IssueMinute.minute >= since)
        .group_by(IssueMinute.issue_id, hour)
    )
    for issue_id, hour_number, count in rows:
        index = int(hour_number) - first_hour
        if 0 <= index < HOURS:  # a clock ahead of ours must not index past the end
            counts[issue_id][index] += int(count)
    return counts


def sparkline(counts: list[int], now: datetime) -> Sparkline:
    """Bars scaled to the busiest hour; an hour with events is never drawn flat."""
    tallest = max(counts, default=0)
    first_hour = int(now.timestamp()) // SECONDS_PER_HOUR - len(counts) + 1
    bars = []
    for index, count in enumerate(counts):
        height = max(1, round(count / tallest * HEIGHT)) if count else 0
        bars.append(
            Bar(
                x=index * BAR_WIDTH,
                y=HEIGHT - height,
                height=height,
                count=count,
                start=datetime.fromtimestamp((first_hour + index) * SECONDS_PER_HOUR, UTC),
            )
        )
    return Sparkline(bars=bars, total=sum(counts))
