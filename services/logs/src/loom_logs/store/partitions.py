"""Day partitions of the log records: which days exist, making a day, dropping a day.

A record is stored in the table of its UTC day, ``log_records_YYYYMMDD``, so that retention
drops a whole day at once (no row-by-row delete, no index churn, the space reused at once).

- **PostgreSQL**: each day is a partition of ``log_records`` (``PARTITION BY RANGE (time)``,
  made by migration 0002 with its indexes: full text, ``jsonb`` fields, request id). Queries
  name the parent and PostgreSQL prunes the days outside their time range; ids come from the
  parent's sequence.
- **SQLite**: each day is a table of its own with its own FTS5 index, and queries walk the days
  they need, newest first (:func:`tables_between`). Ids are ``day ordinal << 32`` plus a count
  within the day (AUTOINCREMENT seeded at the day's first id), so an id names its day and a
  lookup by id opens one table (:func:`table_holding`).

A day is made by the writer when its first record arrives (:func:`ensure_day`), in the
writer's transaction.
"""

from __future__ import annotations

import zlib
from collections import Counter
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.orm import Session

from loom_logs.models import (
    DAY_TABLE_PREFIX,
    PARENT_TABLE,
    day_of_table,
    day_table_name,
    log_table,
)

ID_DAY_SHIFT = 32  # room for 4 billion records a day


def is_sqlite(session: Session | Connection) -> bool:
    bind = session.get_bind() if isinstance(session, Session) else session
    return bind.dialect.name == "sqlite"


@lru_cache(maxsize=512)
def table_named(name: str) -> Table:
    return log_table(name)


def parent_table() -> Table:
    return table_named(PARENT_TABLE)


def day_table(day: date) -> Table:
    return table_named(day_table_name(day))


def first_id_of(day: date) -> int:
    """On SQLite, the ids of a day's records are above this (and below the next day's)."""
    return day.toordinal() << ID_DAY_SHIFT


def day_of_id(record_id: int) -> date | None:
    try:
        return date.fromordinal(record_id >> ID_DAY_SHIFT)
    except (ValueError, OverflowError):
        return None


def existing_days(session: Session | Connection) -> list[date]:
    """The days that have a table (SQLite) or a partition (PostgreSQL), oldest first."""
    if is_sqlite(session):
        names = session.scalars(
            text("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB :pattern"),
            {"pattern": DAY_TABLE_PREFIX + "[0-9]*"},
        )
    else:
        names = session.scalars(
            text(
                "SELECT child.relname FROM pg_inherits"
                " JOIN pg_class child ON child.oid = pg_inherits.inhrelid"
                " JOIN pg_class parent ON parent.oid = pg_inherits.inhparent"
                " WHERE parent.relname = :parent"
            ),
            {"parent": PARENT_TABLE},
        )
    return sorted(day for day in map(day_of_table, names) if day is not None)


def tables_between(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> list[Table]:
    """The tables that can hold records timed in ``[since, until]``, newest day first."""
    if not is_sqlite(session):
        return [parent_table()]
    days = [
        day
        for day in existing_days(session)
        if (since is None or day >= since.date()) and (until is None or day <= until.date())
    ]
    return [day_table(day) for day in reversed(days)]


def table_holding(session: Session, record_id: int) -> Table | None:
    """The table where record ``record_id`` would be; None when there is no such table."""
    if not is_sqlite(session):
        return parent_table()
    day = day_of_id(record_id)
    if day is None or day not in existing_days(session):
        return None
    return day_table(day)


def ensure_day(session: Session, day: date) -> Table:
    """Make ``day``'s table if it is missing; the table to insert that day's records into."""
    connection = session.connection()  # the primary: this may write
    if is_sqlite(connection):
        return _ensure_sqlite_day(connection, day)
    return _ensure_postgresql_day(connection, day)


def drop_day(session: Session | Connection, day: date) -> Counter[str | None]:
    """Drop ``day``'s records whole; how many it held, by service."""
    table = day_table(day)
    if is_sqlite(session):
        # A write first, so the count below is taken under the write lock: nothing lands between.
        session.execute(
            text("DELETE FROM sqlite_sequence WHERE name = :name"), {"name": table.name}
        )
    else:
        session.execute(text(f'LOCK TABLE "{table.name}" IN ACCESS EXCLUSIVE MODE'))
    held = Counter[str | None]()
    for service, count in session.execute(
        select(table.c.service, func.count()).group_by(table.c.service)
    ):
        held[service] += count
    if is_sqlite(session):
        # The triggers go with their table; the FTS5 index is a table of its own.
        session.execute(text(f'DROP TABLE IF EXISTS "{fts_table_name(table)}"'))
    session.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))
    return held


def fts_table_name(table: Table) -> str:
    return f"{table.name}_fts"


# SQLite ---------------------------------------------------------------------------------------

_SQLITE_INDEXED = ("time", "service", "request_id")


def _sqlite_fts_ddl(name: str) -> list[str]:
    # An external-content FTS5 index (the text is not stored twice) kept in sync by triggers.
    fts = f"{name}_fts"
    return [
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{fts}" USING fts5('
        f"message, content='{name}', content_rowid='id')",
        f'CREATE TRIGGER IF NOT EXISTS "{fts}_insert" AFTER INSERT ON "{name}" BEGIN '
        f'INSERT INTO "{fts}"(rowid, message) VALUES (new.id, new.message); END',
        f'CREATE TRIGGER IF NOT EXISTS "{fts}_delete" AFTER DELETE ON "{name}" BEGIN '
        f'INSERT INTO "{fts}"("{fts}", rowid, message) VALUES (\'delete\', old.id, old.message); END',
        f'CREATE TRIGGER IF NOT EXISTS "{fts}_update" AFTER UPDATE OF message ON "{name}" BEGIN '
        f'INSERT INTO "{fts}"("{fts}", rowid, message) VALUES (\'delete\', old.id, old.message); '
        f'INSERT INTO "{fts}"(rowid, message) VALUES (new.id, new.message); END',
    ]


def create_sqlite_day(connection: Connection, day: date) -> Table:
    """The day's table, its indexes and its FTS5 index; each statement a no-op if done."""
    table = day_table(day)
    table.create(connection, checkfirst=True)
    for column in _SQLITE_INDEXED:
        connection.execute(
            text(
                f'CREATE INDEX IF NOT EXISTS "ix_{table.name}_{column}" ON "{table.name}" ({column})'
            )
        )
    for statement in _sqlite_fts_ddl(table.name):
        connection.execute(text(statement))
    return table


def _ensure_sqlite_day(connection: Connection, day: date) -> Table:
    name = day_table_name(day)
    exists = connection.scalar(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": name}
    )
    table = day_table(day) if exists else create_sqlite_day(connection, day)
    # Seed AUTOINCREMENT at the day's first id. In every writing transaction, not only the one
    # that made the table: that one may have rolled back after the table (DDL autocommits
    # under pysqlite) was made, and a day's ids must never start at 1.
    connection.execute(
        text(
            "INSERT INTO sqlite_sequence(name, seq) SELECT :name, :first WHERE NOT EXISTS "
            "(SELECT 1 FROM sqlite_sequence WHERE name = :name)"
        ),
        {"name": name, "first": first_id_of(day)},
    )
    return table


# PostgreSQL -----------------------------------------------------------------------------------


def _ensure_postgresql_day(connection: Connection, day: date) -> Table:
    name = day_table_name(day)
    exists = connection.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})
    if not exists:
        # Two writers may meet a new day at once: one makes it, the other waits and sees it.
        lock_key = zlib.crc32(name.encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
        start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
        connection.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{PARENT_TABLE}" '
                f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"
            )
        )
    return parent_table()
