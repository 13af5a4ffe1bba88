"""A service survives a PostgreSQL failover without a restart (against the real root PostgreSQL).

What a failover looks like from a service is reproduced on its own connections: a host in the
URL that does not answer, a backend killed under it (``pg_terminate_backend``: what a stopping
server does), a pooled connection that has become read-only (what a demoted primary is).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from loom_common.db import Database
from loom_common.db_failover import is_outage, run_unit
from loom_common.testing import temporary_postgres_database


@pytest.fixture
def database_url() -> Iterator[str]:
    with temporary_postgres_database() as url:
        yield url


def closed_port() -> int:
    """A loopback port nothing listens on (asked of the OS, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def multi_host(url: str, *hosts: str, attrs: str = "read-write") -> str:
    """``url`` rewritten to libpq's multi-host form over ``hosts`` ("address:port")."""
    name = url.rsplit("/", 1)[1]
    addresses = ",".join(host.split(":")[0] for host in hosts)
    ports = ",".join(host.split(":")[1] for host in hosts)
    return (
        f"postgresql+psycopg://postgres@/{name}?host={addresses}&port={ports}"
        f"&target_session_attrs={attrs}"
    )


def backend_pid(database: Database) -> int:
    with database.session() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_dead_first_host_is_skipped_and_the_second_serves(database_url: str) -> None:
    url = multi_host(database_url, f"127.0.0.1:{closed_port()}", "127.0.0.1:5432")
    database = Database(url)
    try:
        with database.session() as session:
            session.execute(text("CREATE TABLE notes (body text)"))
            session.execute(text("INSERT INTO notes VALUES ('kept')"))
        with database.session() as session:
            assert session.execute(text("SELECT body FROM notes")).scalars().all() == ["kept"]
    finally:
        database.dispose()


def test_the_repeated_host_form_works_too(database_url: str) -> None:
    name = database_url.rsplit("/", 1)[1]
    url = (
        f"postgresql+psycopg://postgres@/{name}?host=127.0.0.1:{closed_port()}"
        "&host=127.0.0.1:5432&target_session_attrs=read-write"
    )
    database = Database(url)
    try:
        with database.session() as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        database.dispose()


def test_read_write_is_refused_when_every_host_is_read_only(database_url: str) -> None:
    """No primary anywhere (mid-failover): an outage, which HTTP turns into a 503."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    # Only connections made from now on see the setting, as after a promotion elsewhere.
    database = Database(multi_host(database_url, "127.0.0.1:5432"))
    try:
        with pytest.raises(DBAPIError) as refused, database.session() as session:
            session.execute(text("CREATE TABLE notes (body text)"))
        assert is_outage(refused.value)
    finally:
        database.dispose()


def test_a_terminated_backend_costs_only_the_unit_that_held_it(database_url: str) -> None:
    database = Database(multi_host(database_url, "127.0.0.1:5432"))
    try:
        first = backend_pid(database)
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute("SELECT pg_terminate_backend(%s)", [first])
        # pool_pre_ping finds the pooled connection dead and connects afresh: no error at all.
        second = backend_pid(database)
        assert second != first
    finally:
        database.dispose()


def test_a_pooled_connection_turned_read_only_is_dropped_and_the_next_unit_writes(
    database_url: str,
) -> None:
    """A demoted primary keeps answering SELECT 1 (pre-ping passes) but refuses writes: the
    first write fails as an outage, the pool is thrown away, and the next unit writes."""
    database = Database(multi_host(database_url, "127.0.0.1:5432"))
    try:
        with database.session() as session:
            session.execute(text("CREATE TABLE notes (body text)"))
            # This pooled connection now behaves as one to a standby.
            session.execute(text("SET SESSION default_transaction_read_only = on"))
        with pytest.raises(DBAPIError) as refused, database.session() as session:
            session.execute(text("INSERT INTO notes VALUES ('refused')"))
        assert is_outage(refused.value)
        assert refused.value.connection_invalidated
        with database.session() as session:
            session.execute(text("INSERT INTO notes VALUES ('written')"))
        with database.session() as session:
            assert session.execute(text("SELECT body FROM notes")).scalars().all() == ["written"]
    finally:
        database.dispose()


def test_run_unit_retries_an_idempotent_unit_across_the_failover(database_url: str) -> None:
    database = Database(multi_host(database_url, "127.0.0.1:5432"))
    try:
        with database.session() as session:
            session.execute(text("CREATE TABLE batches (id text PRIMARY KEY)"))
            session.execute(text("SET SESSION default_transaction_read_only = on"))
        attempts = []

        def store_batch() -> None:
            attempts.append(1)
            with database.session() as session:
                session.execute(text("INSERT INTO batches VALUES ('b1') ON CONFLICT DO NOTHING"))

        run_unit(store_batch, first_wait=0.01)
        assert len(attempts) == 2
        with database.session() as session:
            assert session.execute(text("SELECT id FROM batches")).scalars().all() == ["b1"]
    finally:
        database.dispose()


def test_a_bad_query_is_not_an_outage_and_is_not_retried(database_url: str) -> None:
    database = Database(multi_host(database_url, "127.0.0.1:5432"))
    attempts = []

    def broken() -> None:
        attempts.append(1)
        with database.session() as session:
            session.execute(text("SELECT * FROM no_such_table"))

    try:
        with pytest.raises(DBAPIError) as failed:
            run_unit(broken, first_wait=0.01)
        assert not is_outage(failed.value)
        assert len(attempts) == 1
    finally:
        database.dispose()


def test_a_multi_host_replica_url_survives_the_replica_list_split() -> None:
    """Replica URLs are a comma-separated list: the repeated host= form keeps one URL whole."""
    from loom_common.settings import Settings

    url = (
        "postgresql+psycopg://loom_web:pw@/loom_web?host=a:5432&host=b:5432"
        "&target_session_attrs=prefer-standby"
    )
    settings = Settings(web_database_replica_urls=url)  # type: ignore[call-arg]
    assert settings.database_replica_urls("web") == [url]
