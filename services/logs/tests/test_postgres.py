"""The same storage and search on PostgreSQL (a fresh database per run): day partitions, ``q`` as
ILIKE over a trigram index, field filters as jsonb containment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete

from loom_common.db import Database
from loom_common.migrations import downgrade, upgrade
from loom_common.testing import temporary_postgres_database
from loom_logs.cursors import Position
from loom_logs.histogram import count_per_bucket
from loom_logs.partitions import parent_table
from loom_logs.search import LogFilter, filter_conditions, search_records
from loom_logs.store import store_records

RecordFactory = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with temporary_postgres_database() as url:
        upgrade("logs", url)
        yield url


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    yield database
    with database.engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE log_records")
    database.dispose()


def _found(database: Database, wanted: LogFilter, after: Position | None = None) -> list[str]:
    with database.session() as session:
        return [r.message for r in search_records(session, wanted, limit=10, after=after).records]


def test_store_and_search_on_postgres(pg: Database, make_record: RecordFactory) -> None:
    with pg.session() as session:
        result = store_records(
            session,
            [
                make_record(
                    time="2030-01-01T14:00:00+02:00", message="connection refused by broker"
                ),
                make_record(time="2030-01-01T11:00:00Z", message="100% done_ok", level="ERROR"),
                make_record(message="nul \x00 byte"),
                {"message": "no time"},
            ],
        )
    assert (result.stored, result.rejected) == (3, 1)

    assert _found(pg, LogFilter(text="REFUSED broker")) == ["connection refused by broker"]
    assert _found(pg, LogFilter(text='"refused by"')) == ["connection refused by broker"]
    assert _found(pg, LogFilter(text='"by refused"')) == []
    assert _found(pg, LogFilter(text="100%")) == ["100% done_ok"]
    assert _found(pg, LogFilter(text="0%")) == ["100% done_ok"]
    assert _found(pg, LogFilter(text="e_o")) == ["100% done_ok"]  # _ is no wildcard
    assert _found(pg, LogFilter(min_level_no=40)) == ["100% done_ok"]

    with pg.session() as session:
        page = search_records(session, LogFilter(), limit=1)
    first = page.records[0]  # ties with "connection refused" at 12:00 UTC; the later id wins
    assert (first.message, first.time) == ("nul \ufffd byte", datetime(2030, 1, 1, 12, tzinfo=UTC))
    assert page.next_position is not None
    assert _found(pg, LogFilter(), after=page.next_position) == [
        "connection refused by broker",
        "100% done_ok",
    ]


def test_downgrade_on_postgres(postgres_url: str) -> None:
    downgrade("logs", postgres_url, "base")
    upgrade("logs", postgres_url)


def test_field_filter_histogram_and_delete_on_postgres(
    pg: Database, make_record: RecordFactory
) -> None:
    with pg.session() as session:
        store_records(
            session,
            [
                make_record(time="2030-01-01T12:00:10Z", message="a", fields={"order.id": 7}),
                make_record(time="2030-01-01T12:00:50Z", message="b", fields={"order.id": "7"}),
                make_record(time="2030-01-01T12:02:05Z", message="c", fields={"order.id": 8}),
            ],
        )
    assert _found(pg, LogFilter(fields=[("order.id", "7")])) == ["b", "a"]

    with pg.session() as session:
        buckets = count_per_bucket(session, LogFilter(), 60)
    assert [(start.minute, count) for start, count in buckets] == [(0, 2), (1, 0), (2, 1)]

    with pg.session() as session:
        logs = parent_table()
        session.execute(delete(logs).where(*filter_conditions(session, logs, LogFilter(text="c"))))
    assert _found(pg, LogFilter()) == ["b", "a"]
