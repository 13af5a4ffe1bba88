"""Read replicas on a real PostgreSQL streaming replica: reads go to the replica, writes and
reads-after-write in the same request or job go to the primary, the next request or job reads
from the replica again, and a replica that goes down moves its reads to the primary.

A temporary primary cluster (initdb, on a free port, replication allowed from 127.0.0.1) and
a replica of it (pg_basebackup -R -X stream) run for this module and are removed after; the
machine's own PostgreSQL is not touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from flask import Flask
from sqlalchemy import String, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from loom_common import flask_app
from loom_common.db import Database
from loom_common.db_routing import start_unit_of_work
from loom_common.middleware import RequestIdPropagation
from loom_common.openapi import make_spec
from loom_common.settings import Settings
from loom_common.testing import free_port, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")

pytestmark = pytest.mark.skipif(
    not (PG_BIN / "pg_ctl").exists(), reason=f"PostgreSQL server binaries not found in {PG_BIN}"
)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(100))


class Cluster:
    """One PostgreSQL server run as the ``postgres`` user from a folder of its own."""

    def __init__(self, folder: Path, name: str) -> None:
        self.data = folder / name
        self.socket_dir = folder
        self.log = folder / f"{name}.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        as_postgres(
            PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")


def as_postgres(*command: Any) -> None:
    """PostgreSQL's binaries refuse to run as root."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(
        [*prefix, *map(str, command)], check=True, capture_output=True, timeout=60, cwd="/"
    )


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    folder = Path(tempfile.mkdtemp(prefix="loom-replica-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    primary, replica = Cluster(folder, "primary"), Cluster(folder, "replica")
    started: list[Cluster] = []
    try:
        # initdb's pg_hba.conf already trusts replication connections from 127.0.0.1.
        as_postgres(PG_BIN / "initdb", "-D", primary.data, "--auth=trust", "-U", "postgres")
        primary.start()
        started.append(primary)
        as_postgres(
            PG_BIN / "pg_basebackup",
            *("-h", "127.0.0.1", "-p", primary.port, "-U", "postgres"),
            *("-D", replica.data, "-R", "-X", "stream"),
        )
        replica.start()
        started.append(replica)
        yield primary, replica
    finally:
        for cluster in reversed(started):
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(clusters: tuple[Cluster, Cluster]) -> Iterator[Database]:
    primary, replica = clusters
    database = Database(primary.url, [replica.url], replica_retry_after=0.5)
    Base.metadata.create_all(database.engine)
    start_unit_of_work()
    yield database
    database.dispose()
    start_unit_of_work()


def read_from_replica(database: Database) -> bool:
    """Where a plain read of this unit of work goes: True for the replica."""
    with database.session() as session:
        return bool(session.execute(text("SELECT pg_is_in_recovery()")).scalar_one())


def on_replica(replica: Cluster, body: str) -> bool:
    with Database(replica.url).session() as session:
        return session.scalar(select(Note).where(Note.body == body)) is not None


def test_a_read_goes_to_the_replica_and_a_write_to_the_primary(database: Database) -> None:
    assert read_from_replica(database) is True

    body = f"note-{uuid.uuid4().hex}"
    with database.session() as session:
        session.add(Note(body=body))

    with database.engine.connect() as primary:
        assert primary.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False
        found = primary.execute(text("SELECT count(*) FROM notes WHERE body = :b"), {"b": body})
        assert found.scalar_one() == 1


def test_a_read_after_a_write_in_the_same_unit_sees_the_row_on_the_primary(
    database: Database, clusters: tuple[Cluster, Cluster]
) -> None:
    body = f"note-{uuid.uuid4().hex}"
    with database.session() as session:
        session.add(Note(body=body))
        session.flush()
        # Same session, before commit: only the primary holds the row.
        assert session.scalar(select(Note.body).where(Note.body == body)) == body
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False

    # A later session of the same unit of work: still the primary, even if the replica lags.
    with database.session() as session:
        assert session.scalar(select(Note.body).where(Note.body == body)) == body
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False

    start_unit_of_work()
    assert read_from_replica(database) is True
    _primary, replica = clusters
    wait_until(lambda: on_replica(replica, body), message="the row streamed to the replica")


def test_each_request_starts_reading_from_the_replica_again(
    database: Database, make_settings: Callable[..., Settings]
) -> None:
    app = Flask("replicas")
    spec = make_spec("replicas")

    @app.post("/api/notes")
    def add_note() -> dict[str, Any]:
        with flask_app.current_database().session() as session:
            session.add(Note(body=f"note-{uuid.uuid4().hex}"))
        return {"read_from_replica": read_from_replica(flask_app.current_database())}

    @app.get("/api/where")
    def where() -> dict[str, Any]:
        return {"read_from_replica": read_from_replica(flask_app.current_database())}

    flask_app.init_app(app, make_settings("web", migrate=False), spec=spec, database=database)
    client = app.test_client()
    headers = {"Authorization": "Bearer dev-api-token"}

    assert client.get("/api/where", headers=headers).json == {"read_from_replica": True}
    assert client.post("/api/notes", headers=headers).json == {"read_from_replica": False}
    # The request before wrote; this one has not, so it reads from the replica.
    assert client.get("/api/where", headers=headers).json == {"read_from_replica": True}


def test_each_job_starts_reading_from_the_replica_again(database: Database) -> None:
    broker = StubBroker(middleware=[RequestIdPropagation()])
    broker.emit_after("process_boot")
    seen: list[tuple[str, bool]] = []

    @dramatiq.actor(broker=broker)
    def add_then_read(write: bool) -> None:
        if write:
            with database.session() as session:
                session.add(Note(body=f"job-{uuid.uuid4().hex}"))
        seen.append(("write" if write else "read", read_from_replica(database)))

    worker = dramatiq.Worker(broker, worker_threads=1)  # one thread: both jobs share it
    worker.start()
    try:
        add_then_read.send(True)
        broker.join(add_then_read.queue_name)
        worker.join()
        add_then_read.send(False)
        broker.join(add_then_read.queue_name)
        worker.join()
    finally:
        worker.stop()
        broker.close()

    assert seen == [("write", False), ("read", True)]


def test_reads_move_to_the_primary_while_the_replica_is_down(
    database: Database, clusters: tuple[Cluster, Cluster]
) -> None:
    _primary, replica = clusters
    assert read_from_replica(database) is True

    replica.stop()
    try:
        # Reads in flight on the replica when it died may fail once; the next use the primary.
        wait_until(lambda: read_from_replica(database) is False, message="reads on the primary")
        database.ping()  # readiness checks the primary, which is fine
        assert list(database.replica_problems()) == [
            f"postgresql+psycopg://postgres@127.0.0.1:{replica.port}/postgres"
        ]
    finally:
        replica.start()

    wait_until(lambda: read_from_replica(database), message="reads back on the replica")
    assert database.replica_problems() == {}
