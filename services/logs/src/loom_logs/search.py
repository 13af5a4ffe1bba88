"""Finding stored records: filters, newest first, one page at a time (keyset pagination)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from loom_logs.cursors import Position
from loom_logs.field_search import field_equals
from loom_logs.id_bounds import ids_in_time_range
from loom_logs.models import LogRecord
from loom_logs.text_search import message_matches


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
    records: list[LogRecord]
    next_position: Position | None  # None on the last page


def filter_conditions(session: Session, wanted: LogFilter) -> list[ColumnElement[bool]]:
    """WHERE clauses for ``wanted`` on the session's database."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.services:
        conditions.append(LogRecord.service.in_(list(wanted.services)))
    if wanted.min_level_no is not None:
        conditions.append(LogRecord.level_no >= wanted.min_level_no)
    if wanted.request_id is not None:
        conditions.append(LogRecord.request_id == wanted.request_id)
    if wanted.since is not None:
        conditions.append(LogRecord.time >= wanted.since)
    if wanted.until is not None:
        conditions.append(LogRecord.time < wanted.until)
    dialect = session.get_bind().dialect.name
    if wanted.text:
        bounds = None
        if dialect == "sqlite":
            bounds = ids_in_time_range(session, wanted.since, wanted.until)
        matches = message_matches(wanted.text, dialect, bounds)
        if matches is not None:
            conditions.append(matches)
    conditions.extend(field_equals(name, value, dialect) for name, value in wanted.fields)
    return conditions


def search_records(
    session: Session, wanted: LogFilter, *, limit: int, after: Position | None = None
) -> Page:
    """Up to ``limit`` records matching ``wanted``, newest first (ties by id), after ``after``."""
    conditions = filter_conditions(session, wanted)
    if after is not None:
        conditions.append(
            or_(
                LogRecord.time < after.time,
                and_(LogRecord.time == after.time, LogRecord.id < after.id),
            )
        )
    statement = (
        select(LogRecord)
        .where(*conditions)
        .order_by(LogRecord.time.desc(), LogRecord.id.desc())
        .limit(limit + 1)
    )
    records = list(session.scalars(statement))
    if len(records) <= limit:
        return Page(records=records, next_position=None)
    last = records[limit - 1]
    return Page(records=records[:limit], next_position=Position(time=last.time, id=last.id))
