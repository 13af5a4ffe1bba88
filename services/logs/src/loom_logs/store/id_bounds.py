"""The id range of the records in a time range, to narrow a SQLite full-text lookup.

FTS5 answers a MATCH with every matching row of the whole table; for common words over a
million rows that costs hundreds of milliseconds, even when the time range holds a few
thousand rows. Bounding the FTS5 rowid by the smallest and largest id found in the time range
(read from the day's time index) lets FTS5 seek instead. The bounds are exact, not a guess
from arrival order: late records (old time, new id) only widen them. Past ``MAX_SCANNED`` rows
in the range the narrowing is skipped: it would cost more than it saves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

MAX_SCANNED = 50_000


def ids_in_time_range(
    session: Session, table: Table, since: datetime | None, until: datetime | None
) -> tuple[int, int] | None:
    """``(lowest id, highest id)`` of ``table``'s records in ``[since, until)``; None if not worth it."""
    if since is None and until is None:
        return None
    conditions = []
    if since is not None:
        conditions.append(table.c.time >= since)
    if until is not None:
        conditions.append(table.c.time < until)
    in_range = select(table.c.id).where(*conditions).limit(MAX_SCANNED + 1).subquery()
    lowest, highest, count = session.execute(
        select(func.min(in_range.c.id), func.max(in_range.c.id), func.count())
    ).one()
    if count > MAX_SCANNED:
        return None
    if count == 0:
        return (0, -1)  # an empty range: nothing can match
    return (lowest, highest)
