"""The records around one record, from the same service and host (like ``grep -C``).

The neighbours may be in the days before or after the record's (SQLite keeps a table per
day): the walk goes from the record's day outwards until it has enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.orm import Session

from loom_logs.models import LogRow
from loom_logs.search.query import earlier_than, later_than
from loom_logs.store.partitions import table_holding, tables_between

MAX_ID = 2**63  # past a BIGINT, PostgreSQL would fail the query instead of finding nothing


@dataclass(frozen=True)
class Surroundings:
    before: list[LogRow]  # oldest first
    record: LogRow
    after: list[LogRow]


def _same_source(table: Table, record: LogRow) -> list[ColumnElement[bool]]:
    columns = table.c
    return [
        columns.service.is_(None) if record.service is None else columns.service == record.service,
        columns.host.is_(None) if record.host is None else columns.host == record.host,
    ]


def _neighbours(
    session: Session, record: LogRow, tables: list[Table], *, earlier: bool, limit: int
) -> list[LogRow]:
    """Up to ``limit`` records of the same source on one side, nearest first."""
    found: list[LogRow] = []
    for table in tables:
        if len(found) >= limit:
            break
        columns = table.c
        if earlier:
            side = earlier_than(table, record.time, record.id)
            order: tuple[ColumnElement[Any], ...] = (columns.time.desc(), columns.id.desc())
        else:
            side = later_than(table, record.time, record.id)
            order = (columns.time, columns.id)
        statement = (
            select(table)
            .where(*_same_source(table, record), side)
            .order_by(*order)
            .limit(limit - len(found))
        )
        found.extend(session.execute(statement))
    return found


def records_around(
    session: Session, record_id: int, *, before: int, after: int
) -> Surroundings | None:
    """None when there is no record ``record_id``. Order is (time, id), as in search."""
    if not 0 <= record_id < MAX_ID:
        return None
    home = table_holding(session, record_id)
    if home is None:
        return None
    record = session.execute(select(home).where(home.c.id == record_id)).first()
    if record is None:
        return None
    older = tables_between(session, until=record.time)  # newest first: nearest days first
    newer = tables_between(session, since=record.time)[::-1]
    preceding = _neighbours(session, record, older, earlier=True, limit=before)
    following = _neighbours(session, record, newer, earlier=False, limit=after)
    return Surroundings(before=preceding[::-1], record=record, after=following)
