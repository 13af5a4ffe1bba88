"""The logs service's records, one table per UTC day (its own database: LOOM_LOGS_DATABASE_URL).

A day's records live in ``log_records_YYYYMMDD`` so that retention drops whole days (see
:mod:`loom_logs.store.partitions`):

- on PostgreSQL these are the partitions of ``log_records``, partitioned by range of ``time``;
  queries name the parent and the planner prunes days;
- on SQLite each day is a table of its own with its own FTS5 index; queries walk the days.

Both are made by :mod:`loom_logs.store.partitions` when the first record of a day arrives, not by
Alembic; the migrations' metadata (``Base``) holds the other tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

from loom_common.db import UTCDateTime

PARENT_TABLE = "log_records"
DAY_TABLE_PREFIX = PARENT_TABLE + "_"

# A stored record as read back: a Row with one attribute per column (id, time, service, ...).
LogRow = Row[Any]


class Base(DeclarativeBase):
    """Alembic's metadata: the tables other than the records' (their days are made at run time)."""


class StoredBatch(Base):
    """A batch of the logs queue already stored, by a digest of its content (see batches.py)."""

    __tablename__ = "stored_batches"

    digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CastOnPostgresql(ColumnElement[Any]):
    """``CAST(clause AS to)`` on PostgreSQL, ``clause`` unchanged elsewhere."""

    inherit_cache = True
    _traverse_internals = [
        ("clause", InternalTraversal.dp_clauseelement),
        ("to", InternalTraversal.dp_string),
    ]

    def __init__(self, clause: ColumnElement[Any], to: str) -> None:
        self.clause = clause
        self.to = to
        self.type = Text()


@compiles(CastOnPostgresql)
def _compile_uncast(element: CastOnPostgresql, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clause, **kw))


@compiles(CastOnPostgresql, "postgresql")
def _compile_cast(element: CastOnPostgresql, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clause, **kw)} AS {element.to})"


class JsonObjectText(TypeDecorator[str]):
    """A JSON object passed in and out as text; stored as ``jsonb`` on PostgreSQL (GIN-indexed).

    The text is JSON already (orjson, once, in :mod:`loom_logs.store.records`): PostgreSQL is told to
    cast it on the way in and back to text on the way out, so callers see text on both.
    """

    impl = Text
    cache_ok = True

    def bind_expression(self, bindvalue: Any) -> Any:
        return CastOnPostgresql(bindvalue, "jsonb")

    def column_expression(self, column: Any) -> Any:
        return CastOnPostgresql(column, "text")


def log_columns() -> list[Column[Any]]:
    """A fresh set of the columns (a Column belongs to one Table)."""
    return [
        # On SQLite the id is the rowid the day's FTS5 index points at (see store/partitions.py).
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        Column("time", UTCDateTime(), nullable=False),
        Column("service", String(100)),
        Column("env", String(32)),
        Column("host", String(255)),
        Column("level", String(32), nullable=False),
        Column("level_no", Integer, nullable=False),
        Column("logger", String(255)),
        Column("function", String(255)),
        Column("line", Integer),
        Column("process", Integer),
        Column("thread", String(255)),
        Column("message", Text, nullable=False),
        Column("request_id", String(128)),
        Column("exception", Text),
        Column("fields", JsonObjectText(), nullable=False),
    ]


def day_table_name(day: date) -> str:
    return f"{DAY_TABLE_PREFIX}{day.year:04d}{day.month:02d}{day.day:02d}"


def day_of_table(name: str) -> date | None:
    """The day a ``log_records_YYYYMMDD`` name stands for; None for any other name."""
    suffix = name.removeprefix(DAY_TABLE_PREFIX)
    if suffix == name or len(suffix) != 8 or not suffix.isdigit():
        return None
    try:
        return date(int(suffix[:4]), int(suffix[4:6]), int(suffix[6:]))
    except ValueError:
        return None


def log_table(name: str) -> Table:
    """The Core table of that name (the parent or one day), in metadata of its own."""
    return Table(name, MetaData(), *log_columns(), sqlite_autoincrement=True)


def utc_day(moment: datetime) -> date:
    return moment.date()  # record times are UTC (store/records.py)
