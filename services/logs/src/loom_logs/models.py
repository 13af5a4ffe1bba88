"""The logs service's tables (its own database: LOOM_LOGS_DATABASE_URL).

Full-text search over ``message`` lives outside the model: on SQLite an FTS5 table
``log_records_fts`` kept in sync by triggers, both created by the migrations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from loom_common.db import UTCDateTime

FTS_TABLE = "log_records_fts"


class Base(DeclarativeBase):
    pass


class LogRecord(Base):
    """One log line as shipped by a Loom process (see loom_common.log_records)."""

    __tablename__ = "log_records"

    # BIGINT: a busy log table outgrows 2**31 ids. On SQLite the id must stay INTEGER PRIMARY KEY,
    # the rowid that the full-text index points at.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    service: Mapped[str | None] = mapped_column(String(100), index=True)
    env: Mapped[str | None] = mapped_column(String(32))
    host: Mapped[str | None] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(32))
    level_no: Mapped[int] = mapped_column(Integer)
    logger: Mapped[str | None] = mapped_column(String(255))
    function: Mapped[str | None] = mapped_column(String(255))
    line: Mapped[int | None] = mapped_column(Integer)
    process: Mapped[int | None] = mapped_column(Integer)
    thread: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128), index=True)
    exception: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[str] = mapped_column(Text, default="{}")  # a JSON object
