"""The search page's chart: the histogram of the same filters, at a width that fits the page.

The interval is picked from the span the chart covers (``since``/``until`` when given, else the
oldest and newest matching record) so that the chart has at most about ``TARGET_BARS`` bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loom_logs.search.histogram import count_per_bucket
from loom_logs.search.query import LogFilter, filter_conditions, tables_for

TARGET_BARS = 60
_MINUTE, _HOUR, _DAY = 60, 3600, 86400
NICE_WIDTHS = (
    *(1, 5, 10, 30),
    *(_MINUTE, 5 * _MINUTE, 10 * _MINUTE, 30 * _MINUTE),
    *(_HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR),
    *(_DAY, 7 * _DAY, 30 * _DAY, 365 * _DAY),
)


@dataclass(frozen=True)
class Bar:
    start: datetime
    end: datetime
    count: int
    height: float  # 0..1 of the tallest bar


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width_seconds: int
    tallest: int
    total: int


def bucket_width(span: timedelta) -> int:
    """The narrowest nice width (seconds) that covers ``span`` in at most TARGET_BARS bars."""
    seconds = span.total_seconds()
    for width in NICE_WIDTHS:
        if math.ceil(seconds / width) <= TARGET_BARS:
            return width
    return NICE_WIDTHS[-1]


def _matching_time(session: Session, wanted: LogFilter, newest: bool) -> datetime | None:
    # Days newest first: the newest match is in the first day holding one, the oldest in the last.
    tables = tables_for(session, wanted)
    for table in tables if newest else tables[::-1]:
        # One aggregate per query: SQLite answers a lone min() or max() from the time index.
        aggregate = func.max(table.c.time) if newest else func.min(table.c.time)
        found = session.scalar(select(aggregate).where(*filter_conditions(session, table, wanted)))
        if found is not None:
            return found
    return None


def histogram_chart(session: Session, wanted: LogFilter) -> Chart | None:
    """None when nothing matches and no range was asked for (nothing to draw)."""
    first = wanted.since or _matching_time(session, wanted, newest=False)
    last = wanted.until or _matching_time(session, wanted, newest=True)
    if first is None or last is None:
        return None
    width = bucket_width(max(last - first, timedelta(seconds=1)))
    # The bars run from the range's start, or else the oldest match, to its end or the newest.
    counted = count_per_bucket(session, wanted, width)
    if not counted:
        return None
    tallest = max(count for _, count in counted)
    bars = [
        Bar(
            start=start,
            end=start + timedelta(seconds=width),
            count=count,
            height=count / tallest if tallest else 0.0,
        )
        for start, count in counted
    ]
    return Chart(bars=bars, width_seconds=width, tallest=tallest, total=sum(b.count for b in bars))
