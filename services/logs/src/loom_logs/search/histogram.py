"""Counts of matching records per time bucket, for the UI's chart.

Buckets are aligned to the epoch (a 1h bucket starts on the hour) and counted by the
database; the buckets between the first and the last (or ``since`` and ``until`` when given)
that hold nothing are filled in with zero, so the chart has no holes.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Integer, Table, cast, func, select
from sqlalchemy.orm import Session

from loom_logs.search.query import LogFilter, filter_conditions, tables_for

MAX_BUCKETS = 5_000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class TooManyBuckets(ValueError):
    pass


def interval_seconds(interval: str) -> int:
    """``30s``, ``5m``, ``1h``, ``1d`` in seconds (the API checks the form)."""
    return int(interval[:-1]) * _UNITS[interval[-1]]


def _epoch_seconds(table: Table, dialect: str) -> ColumnElement[int]:
    if dialect == "sqlite":
        return cast(func.strftime("%s", table.c.time), Integer)
    return cast(func.floor(func.extract("epoch", table.c.time)), Integer)


def _bucket_of(seconds: float | None, width: int) -> int | None:
    return None if seconds is None else math.floor(seconds) // width * width


def count_per_bucket(session: Session, wanted: LogFilter, width: int) -> list[tuple[datetime, int]]:
    """``(bucket start, count)`` oldest first; raises TooManyBuckets past MAX_BUCKETS."""
    dialect = session.get_bind().dialect.name
    counts: Counter[int] = Counter()
    for table in tables_for(session, wanted):
        epoch = _epoch_seconds(table, dialect)
        bucket = ((epoch // width) * width).label("bucket")  # integer division on both databases
        statement = (
            select(bucket, func.count())
            .where(*filter_conditions(session, table, wanted))
            .group_by(bucket)
        )
        for start, count in session.execute(statement):
            counts[int(start)] += count
    first = _bucket_of(wanted.since.timestamp() if wanted.since else None, width)
    # until is exclusive: the last bucket is the one holding the moment just before it
    last = _bucket_of(math.ceil(wanted.until.timestamp()) - 1 if wanted.until else None, width)
    if counts:
        first = min(counts) if first is None else first
        last = max(counts) if last is None else last
    if first is None or last is None:
        return []
    if (last - first) // width + 1 > MAX_BUCKETS:
        raise TooManyBuckets(
            f"more than {MAX_BUCKETS} buckets: widen the interval or narrow the range"
        )
    return [
        (datetime.fromtimestamp(start, UTC), counts.get(start, 0))
        for start in range(first, last + width, width)
    ]
