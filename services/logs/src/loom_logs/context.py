"""The records around one record, from the same service and host (like ``grep -C``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from loom_logs.models import LogRecord


@dataclass(frozen=True)
class Surroundings:
    before: list[LogRecord]  # oldest first
    record: LogRecord
    after: list[LogRecord]


def _same_source(record: LogRecord) -> list[ColumnElement[bool]]:
    return [
        LogRecord.service.is_(None)
        if record.service is None
        else LogRecord.service == record.service,
        LogRecord.host.is_(None) if record.host is None else LogRecord.host == record.host,
    ]


def records_around(
    session: Session, record_id: int, *, before: int, after: int
) -> Surroundings | None:
    """None when there is no record ``record_id``. Order is (time, id), as in search."""
    record = session.get(LogRecord, record_id)
    if record is None:
        return None
    earlier = or_(
        LogRecord.time < record.time, and_(LogRecord.time == record.time, LogRecord.id < record.id)
    )
    later = or_(
        LogRecord.time > record.time, and_(LogRecord.time == record.time, LogRecord.id > record.id)
    )
    preceding = list(
        session.scalars(
            select(LogRecord)
            .where(*_same_source(record), earlier)
            .order_by(LogRecord.time.desc(), LogRecord.id.desc())
            .limit(before)
        )
    )
    following = list(
        session.scalars(
            select(LogRecord)
            .where(*_same_source(record), later)
            .order_by(LogRecord.time, LogRecord.id)
            .limit(after)
        )
    )
    return Surroundings(before=preceding[::-1], record=record, after=following)
