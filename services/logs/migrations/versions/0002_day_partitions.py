"""log records partitioned by day

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:40:00

One table of records becomes one per UTC day (see loom_logs.store.partitions), so that retention
drops whole days:

- PostgreSQL: ``log_records`` becomes ``PARTITION BY RANGE (time)`` with a partition per day
  that holds records; ``fields`` becomes ``jsonb`` with a GIN index (field filters), and
  ``message`` gets a pg_trgm GIN index (the substring search, ILIKE).
- SQLite: each day's records move to ``log_records_YYYYMMDD`` with its own FTS5 index, made by
  the same code the service makes new days with; ids are renumbered within each day from
  ``day ordinal << 32`` (and from 1 on the way down).

Existing records are kept, on the way up and on the way down.
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

from loom_logs.store.partitions import create_sqlite_day, day_table, drop_day, existing_days, first_id_of

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    "time, service, env, host, level, level_no, logger, function, line, process, thread, "
    "message, request_id, exception"
)
OLD_FTS = "log_records_fts"

POSTGRESQL_PARENT = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE TABLE log_records (
        id BIGSERIAL NOT NULL,
        time TIMESTAMP WITH TIME ZONE NOT NULL,
        service VARCHAR(100),
        env VARCHAR(32),
        host VARCHAR(255),
        level VARCHAR(32) NOT NULL,
        level_no INTEGER NOT NULL,
        logger VARCHAR(255),
        function VARCHAR(255),
        line INTEGER,
        process INTEGER,
        thread VARCHAR(255),
        message TEXT NOT NULL,
        request_id VARCHAR(128),
        exception TEXT,
        fields JSONB NOT NULL DEFAULT '{}'::jsonb,
        PRIMARY KEY (id, time)
    ) PARTITION BY RANGE (time)
    """,
    "CREATE INDEX ix_log_records_time ON log_records (time)",
    "CREATE INDEX ix_log_records_service ON log_records (service)",
    "CREATE INDEX ix_log_records_request_id ON log_records (request_id)",
    "CREATE INDEX ix_log_records_message_trgm ON log_records USING gin (message gin_trgm_ops)",
    "CREATE INDEX ix_log_records_fields ON log_records USING gin (fields jsonb_path_ops)",
]


def _set_aside_postgresql(old: str) -> None:
    # The names the new table will take: its constraint, sequence and indexes.
    op.execute(f"ALTER TABLE log_records RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT log_records_pkey TO {old}_pkey")
    op.execute(f"ALTER SEQUENCE IF EXISTS log_records_id_seq RENAME TO {old}_id_seq")
    for index in ("time", "service", "request_id"):
        op.execute(f"DROP INDEX IF EXISTS ix_log_records_{index}")


def _copy_postgresql(source: str, fields: str) -> None:
    op.execute(
        f"INSERT INTO log_records (id, {COLUMNS}, fields) SELECT id, {COLUMNS}, {fields} FROM {source}"
    )
    op.execute(
        "SELECT setval(pg_get_serial_sequence('log_records', 'id'), "
        "COALESCE((SELECT max(id) FROM log_records), 0) + 1, false)"
    )


def _upgrade_postgresql() -> None:
    _set_aside_postgresql("log_records_unpartitioned")
    for statement in POSTGRESQL_PARENT:
        op.execute(statement)
    days = op.get_bind().scalars(
        sa.text("SELECT DISTINCT (time AT TIME ZONE 'UTC')::date FROM log_records_unpartitioned")
    )
    for day in days:
        start, end = day.isoformat(), date.fromordinal(day.toordinal() + 1).isoformat()
        op.execute(
            f"CREATE TABLE log_records_{day:%Y%m%d} PARTITION OF log_records "
            f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"
        )
    _copy_postgresql("log_records_unpartitioned", "fields::jsonb")
    op.execute("DROP TABLE log_records_unpartitioned")


def _downgrade_postgresql() -> None:
    _set_aside_postgresql("log_records_partitioned")
    op.execute("DROP INDEX IF EXISTS ix_log_records_message_trgm")
    op.execute("DROP INDEX IF EXISTS ix_log_records_fields")
    _create_single_table()
    _copy_postgresql("log_records_partitioned", "fields::text")
    op.execute("DROP TABLE log_records_partitioned")  # and its partitions


def _upgrade_sqlite() -> None:
    connection = op.get_bind()
    days = connection.scalars(sa.text("SELECT DISTINCT date(time) FROM log_records"))
    for day in [date.fromisoformat(text) for text in days]:
        table = create_sqlite_day(connection, day)
        connection.execute(
            sa.text(
                f"INSERT INTO {table.name} (id, {COLUMNS}, fields) "
                f"SELECT :first + row_number() OVER (ORDER BY time, id), {COLUMNS}, fields "
                "FROM log_records WHERE date(time) = :day"
            ),
            {"first": first_id_of(day), "day": day.isoformat()},
        )
        # The explicit ids set the day's AUTOINCREMENT counter: its next id follows the copies.
    for statement in (
        f"DROP TRIGGER IF EXISTS {OLD_FTS}_update",
        f"DROP TRIGGER IF EXISTS {OLD_FTS}_delete",
        f"DROP TRIGGER IF EXISTS {OLD_FTS}_insert",
        f"DROP TABLE IF EXISTS {OLD_FTS}",
        "DROP TABLE log_records",
    ):
        op.execute(statement)


def _downgrade_sqlite() -> None:
    _create_single_table()
    for statement in SQLITE_SINGLE_FTS:
        op.execute(statement)
    connection = op.get_bind()
    for day in existing_days(connection):
        connection.execute(
            sa.text(
                f"INSERT INTO log_records ({COLUMNS}, fields) "
                f"SELECT {COLUMNS}, fields FROM {day_table(day).name} ORDER BY time, id"
            )
        )
        drop_day(connection, day)


def _create_single_table() -> None:
    op.create_table(
        "log_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("env", sa.String(length=32), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("level_no", sa.Integer(), nullable=False),
        sa.Column("logger", sa.String(length=255), nullable=True),
        sa.Column("function", sa.String(length=255), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("process", sa.Integer(), nullable=True),
        sa.Column("thread", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("exception", sa.Text(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for index in ("time", "service", "request_id"):
        op.create_index(f"ix_log_records_{index}", "log_records", [index])


# 0001's FTS5 index over the single table, for the way down.
SQLITE_SINGLE_FTS = [
    f"CREATE VIRTUAL TABLE {OLD_FTS} USING fts5(message, content='log_records', content_rowid='id')",
    f"""CREATE TRIGGER {OLD_FTS}_insert AFTER INSERT ON log_records BEGIN
        INSERT INTO {OLD_FTS}(rowid, message) VALUES (new.id, new.message); END""",
    f"""CREATE TRIGGER {OLD_FTS}_delete AFTER DELETE ON log_records BEGIN
        INSERT INTO {OLD_FTS}({OLD_FTS}, rowid, message) VALUES ('delete', old.id, old.message); END""",
    f"""CREATE TRIGGER {OLD_FTS}_update AFTER UPDATE OF message ON log_records BEGIN
        INSERT INTO {OLD_FTS}({OLD_FTS}, rowid, message) VALUES ('delete', old.id, old.message);
        INSERT INTO {OLD_FTS}(rowid, message) VALUES (new.id, new.message); END""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _downgrade_sqlite()
    else:
        _downgrade_postgresql()
