"""The day tables on SQLite: each day's FTS5 index stays in sync, and records survive the
migration to day tables and back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import all_stored
from sqlalchemy import delete, text, update

from loom_common.db import Database
from loom_common.migrations import downgrade, upgrade
from loom_common.settings import Settings
from loom_logs.models import Base
from loom_logs.search.query import LogFilter, search_records
from loom_logs.store.partitions import day_of_id, day_table, existing_days, fts_table_name

RecordFactory = Callable[..., dict[str, Any]]
Store = Callable[[list[Any]], None]
DAY_ONE, DAY_TWO = "2030-01-01T23:59:59Z", "2030-01-02T00:00:00Z"


def _schema_names(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(connection.scalars(text("SELECT name FROM sqlite_master")))


def _found(database: Database, query: str) -> list[str]:
    with database.session() as session:
        page = search_records(session, LogFilter(text=query), limit=10)
        return [record.message for record in page.records]


def _check_indexes(database: Database) -> None:
    with database.engine.begin() as connection:
        for day in existing_days(connection):
            fts = fts_table_name(day_table(day))
            # Raises if the index and its day's table disagree.
            connection.execute(
                text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
            )


def test_records_go_to_their_day_each_with_its_index_in_sync(
    database: Database, store: Store, make_record: RecordFactory
) -> None:
    store(
        [
            make_record(time=DAY_ONE, message="alpha beta"),
            make_record(time=DAY_TWO, message="gamma alpha"),
            make_record(time=DAY_TWO, message="epsilon"),
        ]
    )
    with database.session() as session:
        assert [day.isoformat() for day in existing_days(session)] == ["2030-01-01", "2030-01-02"]
    rows = all_stored(database)
    assert [(row.message, day_of_id(row.id).isoformat()) for row in rows] == [  # type: ignore[union-attr]
        ("alpha beta", "2030-01-01"),
        ("gamma alpha", "2030-01-02"),
        ("epsilon", "2030-01-02"),
    ]
    assert _found(database, "alpha") == ["gamma alpha", "alpha beta"]  # newest first, both days

    second_day = day_table(rows[1].time.date())
    with database.session() as session:
        session.execute(
            update(second_day).where(second_day.c.message == "gamma alpha").values(message="delta")
        )
        session.execute(delete(second_day).where(second_day.c.message == "epsilon"))
    assert _found(database, "alpha") == ["alpha beta"]
    assert _found(database, "delta") == ["delta"]
    assert _found(database, "epsilon") == []
    _check_indexes(database)


def test_records_survive_the_way_down_to_one_table_and_back(
    settings: Settings, store: Store, make_record: RecordFactory
) -> None:
    store(
        [
            make_record(time=DAY_ONE, message="first day", fields={"k": 1}),
            make_record(time=DAY_TWO, message="second day"),
        ]
    )
    url = settings.database_url("logs")
    database = Database(url)
    try:
        downgrade("logs", url, "0001")
        names = _schema_names(database)
        assert {"log_records", "log_records_fts"} <= names
        assert not any(day_table_like(name) for name in names)
        with database.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM log_records")) == 2
            found = connection.scalars(
                text("SELECT rowid FROM log_records_fts WHERE log_records_fts MATCH 'second'")
            ).all()
            assert len(found) == 1

        upgrade("logs", url)
        assert "log_records" not in _schema_names(database)
        rows = all_stored(database)
        assert [row.message for row in rows] == ["first day", "second day"]
        assert [day_of_id(row.id) for row in rows] == [row.time.date() for row in rows]
        assert rows[0].fields == '{"k":1}'
        assert _found(database, "second") == ["second day"]
        _check_indexes(database)

        store([make_record(time=DAY_TWO, message="after the move")])
        newest = all_stored(database)[-1]
        assert newest.message == "after the move"
        assert newest.id == rows[1].id + 1  # the day's ids go on from the moved ones
    finally:
        database.dispose()


def day_table_like(name: str) -> bool:
    return name.startswith("log_records_2")


def test_the_migrations_match_the_models(database: Database) -> None:
    # The record tables live outside the models (store/partitions.py); nothing else may drift.
    def ours(name: str | None, type_: str, _parents: Any) -> bool:
        return not (type_ == "table" and name is not None and name.startswith("log_records"))

    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": ours, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []
