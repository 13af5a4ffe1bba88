"""Finding stored records: filters, newest first, one page at a time (keyset pagination).

The conditions are built for one table (a day on SQLite, the partitioned parent on PostgreSQL,
see :mod:`loom_logs.store.partitions`); a search walks the tables newest day first and stops when the
page is full, so a search for recent lines opens only the recent days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Table, and_, or_, select
from sqlalchemy.orm import Session

from loom_common.cursors import decode_cursor, encode_cursor
from loom_logs.models import LogRow
from loom_logs.search.fields import field_equals
from loom_logs.search.text import message_matches
from loom_logs.store.id_bounds import ids_in_time_range
from loom_logs.store.partitions import tables_between

_LISTING = "logs"


@dataclass(frozen=True)
class Position:
    """Where a page ended: the ``(time, id)`` of its last record."""

    time: datetime
    id: int


def after_position(cursor: str | None) -> Position | None:
    """The position in a ``next_cursor`` passed back; raise InvalidCursor (a 400) if not one."""
    if not cursor:
        return None
    time, record_id = decode_cursor(_LISTING, cursor, datetime, int)
    return Position(time=time, id=record_id)


def page_cursor(position: Position) -> str:
    """The ``next_cursor`` of a page that ended at ``position``."""
    return encode_cursor(_LISTING, position.time, position.id)


@dataclass(frozen=True)
class LogFilter:
    """Every given condition must hold. ``since`` is inclusive, ``until`` exclusive."""

    services: Sequence[str] = ()
    min_level_no: int | None = None
    request_id: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    fields: Sequence[tuple[str, str]] = ()  # (name, value): the structured field equals value

    def is_empty(self) -> bool:
        return not (
            self.services
            or self.min_level_no is not None
            or self.request_id is not None
            or self.text
            or self.since
            or self.until
            or self.fields
        )


@dataclass(frozen=True)
class Page:
    records: list[LogRow]
    next_position: Position | None  # None on the last page


def filter_conditions(
    session: Session, table: Table, wanted: LogFilter
) -> list[ColumnElement[bool]]:
    """WHERE clauses for ``wanted`` on ``table`` of the session's database."""
    columns = table.c
    conditions: list[ColumnElement[bool]] = []
    if wanted.services:
        conditions.append(columns.service.in_(list(wanted.services)))
    if wanted.min_level_no is not None:
        conditions.append(columns.level_no >= wanted.min_level_no)
    if wanted.request_id is not None:
        conditions.append(columns.request_id == wanted.request_id)
    if wanted.since is not None:
        conditions.append(columns.time >= wanted.since)
    if wanted.until is not None:
        conditions.append(columns.time < wanted.until)
    dialect = session.get_bind().dialect.name
    if wanted.text:
        bounds = None
        if dialect == "sqlite":
            bounds = ids_in_time_range(session, table, wanted.since, wanted.until)
        matches = message_matches(table, wanted.text, dialect, bounds)
        if matches is not None:
            conditions.append(matches)
    conditions.extend(field_equals(table, name, value, dialect) for name, value in wanted.fields)
    return conditions


def tables_for(session: Session, wanted: LogFilter, until: datetime | None = None) -> list[Table]:
    """The tables that can hold matches of ``wanted`` (timed before ``until`` too), newest first."""
    latest = min((moment for moment in (wanted.until, until) if moment), default=None)
    return tables_between(session, wanted.since, latest)


def earlier_than(table: Table, time: datetime, record_id: int) -> ColumnElement[bool]:
    """Records before ``(time, record_id)`` in the order search and context use."""
    columns = table.c
    return or_(columns.time < time, and_(columns.time == time, columns.id < record_id))


def later_than(table: Table, time: datetime, record_id: int) -> ColumnElement[bool]:
    """Records after ``(time, record_id)`` in the order search and context use."""
    columns = table.c
    return or_(columns.time > time, and_(columns.time == time, columns.id > record_id))


def search_records(
    session: Session, wanted: LogFilter, *, limit: int, after: Position | None = None
) -> Page:
    """Up to ``limit`` records matching ``wanted``, newest first (ties by id), after ``after``."""
    records: list[LogRow] = []
    for table in tables_for(session, wanted, after.time if after else None):
        conditions = filter_conditions(session, table, wanted)
        if after is not None:
            conditions.append(earlier_than(table, after.time, after.id))
        statement = (
            select(table)
            .where(*conditions)
            .order_by(table.c.time.desc(), table.c.id.desc())
            .limit(limit + 1 - len(records))
        )
        records.extend(session.execute(statement))
        if len(records) > limit:
            break
    if len(records) <= limit:
        return Page(records=records, next_position=None)
    last = records[limit - 1]
    return Page(records=records[:limit], next_position=Position(time=last.time, id=last.id))
