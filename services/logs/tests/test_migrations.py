"""The migration owns the SQLite full-text index: triggers keep it in sync, downgrade drops it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, select, text, update

from loom_common.db import Database
from loom_common.migrations import downgrade, upgrade
from loom_common.settings import Settings
from loom_logs.models import FTS_TABLE, Base, LogRecord
from loom_logs.search import LogFilter, search_records

RecordFactory = Callable[..., dict[str, Any]]


def _schema_names(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(connection.scalars(text("SELECT name FROM sqlite_master")))


def _found(database: Database, query: str) -> list[str]:
    with database.session() as session:
        page = search_records(session, LogFilter(text=query), limit=10)
        return [record.message for record in page.records]


def test_triggers_keep_the_index_in_sync(
    database: Database, store: Callable[[list[Any]], None], make_record: RecordFactory
) -> None:
    store([make_record(message="alpha beta"), make_record(message="gamma")])
    assert _found(database, "alpha") == ["alpha beta"]

    with database.session() as session:
        session.execute(
            update(LogRecord).where(LogRecord.message == "alpha beta").values(message="delta")
        )
    assert _found(database, "alpha") == []
    assert _found(database, "delta") == ["delta"]

    with database.session() as session:
        session.execute(delete(LogRecord).where(LogRecord.message == "gamma"))
    assert _found(database, "gamma") == []
    with database.engine.connect() as connection:
        check = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)"
        connection.execute(text(check))  # raises if the index and the table disagree


def test_downgrade_drops_the_index_and_upgrade_restores_it(settings: Settings) -> None:
    url = settings.database_url("logs")
    database = Database(url)
    try:
        names = _schema_names(database)
        assert {
            "log_records",
            FTS_TABLE,
            "log_records_fts_insert",
            "log_records_fts_delete",
            "log_records_fts_update",
        } <= names

        downgrade("logs", url, "base")
        assert not {name for name in _schema_names(database) if name.startswith("log_records")}

        upgrade("logs", url)
        with database.session() as session:
            assert session.scalars(select(LogRecord)).all() == []
        assert FTS_TABLE in _schema_names(database)
    finally:
        database.dispose()


def test_the_migrations_match_the_models(database: Database) -> None:
    # The FTS5 tables live only in the migration; autogenerate would propose dropping them.
    def ours(name: str | None, type_: str, _parents: Any) -> bool:
        return not (type_ == "table" and name is not None and name.startswith(FTS_TABLE))

    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": ours, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []
