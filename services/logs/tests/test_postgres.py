"""The same storage and search on PostgreSQL (a fresh database per run): day partitions, ``q`` as
ILIKE over a trigram index, field filters as jsonb containment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select, text

from loom_common.db import Database
from loom_common.migrations import downgrade, upgrade
from loom_common.testing import temporary_postgres_database
from loom_logs.config import load_logs_config
from loom_logs.models import LogRow
from loom_logs.search.histogram import count_per_bucket
from loom_logs.search.query import LogFilter, Position, filter_conditions, search_records
from loom_logs.store.batches import store_batch_once
from loom_logs.store.insert import store_records
from loom_logs.store.partitions import existing_days, parent_table
from loom_logs.store.retention import expire_records

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


def _found_rows(
    database: Database, wanted: LogFilter, after: Position | None = None
) -> list[LogRow]:
    with database.session() as session:
        return search_records(session, wanted, limit=10, after=after).records


def _found(database: Database, wanted: LogFilter, after: Position | None = None) -> list[str]:
    return [row.message for row in _found_rows(database, wanted, after)]


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


def test_records_survive_the_way_down_to_one_table_and_back(make_record: RecordFactory) -> None:
    with temporary_postgres_database() as url:
        upgrade("logs", url)
        database = Database(url)
        try:
            with database.session() as session:
                store_records(
                    session,
                    [
                        make_record(time="2030-01-01T23:00:00Z", message="one", fields={"k": 1}),
                        make_record(time="2030-01-02T01:00:00Z", message="two"),
                    ],
                )
            downgrade("logs", url, "0001")
            with database.engine.connect() as connection:
                kind = "SELECT relkind FROM pg_class WHERE relname = 'log_records'"
                assert connection.scalar(text(kind)) == "r"  # a plain table again
                assert connection.scalar(text("SELECT count(*) FROM log_records")) == 2
            database.dispose()

            upgrade("logs", url)
            with database.session() as session:
                assert [day.isoformat() for day in existing_days(session)] == [
                    "2030-01-01",
                    "2030-01-02",
                ]
                store_records(session, [make_record(time="2030-01-02T02:00:00Z", message="three")])
            rows = _found_rows(database, LogFilter())
            assert [(row.message, row.fields) for row in rows] == [
                ("three", "{}"),
                ("two", "{}"),
                ("one", '{"k": 1}'),
            ]
            assert rows[0].id > rows[1].id > rows[2].id  # the sequence goes on past the moved ids
            assert _found(database, LogFilter(fields=[("k", "1")])) == ["one"]
        finally:
            database.dispose()


def test_a_day_is_a_partition_that_queries_skip_and_retention_drops(
    pg: Database, make_record: RecordFactory
) -> None:
    with pg.session() as session:
        store_records(
            session,
            [
                make_record(time="2030-01-01T12:00:00Z", service="web", message="oldest day"),
                make_record(time="2030-01-01T13:00:00Z", service="worker", message="oldest day"),
                make_record(time="2030-01-02T12:00:00Z", service="web", message="middle day"),
                make_record(time="2030-01-03T12:00:00Z", service="web", message="newest day"),
            ],
        )
    one_hour = LogFilter(
        since=datetime(2030, 1, 2, 12, tzinfo=UTC), until=datetime(2030, 1, 2, 13, tzinfo=UTC)
    )
    with pg.session() as session:
        plan = "\n".join(
            session.scalars(
                text("EXPLAIN SELECT * FROM log_records WHERE time >= :since AND time < :until"),
                {"since": one_hour.since, "until": one_hour.until},
            )
        )
    assert "log_records_20300102" in plan
    assert "log_records_20300101" not in plan and "log_records_20300103" not in plan

    config = load_logs_config(retention_days=1)
    deleted = expire_records(pg, config, datetime(2030, 1, 3, 0, 30, tzinfo=UTC))
    assert deleted == {"none": 2}  # the whole first day; the second still holds recent lines
    with pg.session() as session:
        assert [day.isoformat() for day in existing_days(session)] == ["2030-01-02", "2030-01-03"]
    assert _found(pg, LogFilter()) == ["newest day", "middle day"]


@pytest.mark.parametrize(
    ("wanted", "index"),
    [
        (LogFilter(text="refused"), "message_idx"),
        (LogFilter(fields=[("order.id", "7")]), "fields_idx"),
    ],
)
def test_text_and_field_filters_are_answered_by_an_index(
    pg: Database, make_record: RecordFactory, wanted: LogFilter, index: str
) -> None:
    with pg.session() as session:
        store_records(session, [make_record(message="connection refused", fields={"order.id": 7})])
        session.execute(
            text("SET LOCAL enable_seqscan = off")
        )  # a tiny table: make the choice plain
        logs = parent_table()
        statement = select(logs).where(*filter_conditions(session, logs, wanted))
        compiled = statement.compile(session.get_bind())
        explained = session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        plan = "\n".join(row[0] for row in explained)
    assert "Bitmap Index Scan on log_records_20300101_" + index in plan, plan


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


def test_a_repeated_batch_is_stored_once_on_postgres(
    pg: Database, make_record: RecordFactory
) -> None:
    batch = [make_record(message="once only")]
    with pg.session() as session:
        assert store_batch_once(session, batch) is not None
    with pg.session() as session:
        assert store_batch_once(session, batch) is None
    assert _found(pg, LogFilter(text="once")) == ["once only"]
