"""Job-record writes from one thread per process, many jobs per transaction (group commit).

A commit is the slow part of recording a job (an fsync on PostgreSQL, the write lock on
SQLite), and a no-op job paid two of them. Here the worker threads hand their changes to
one writer thread, which folds every change waiting for it into one transaction: a job
that starts and ends within the same batch is a single upsert. Changes are applied in the
order they were handed over, so a record's statuses end as if written one by one.

Callers that must not go on before their change is stored (the ack of a job, a progress
report) wait on the :class:`Written` they get back. A change nobody waits for is held
back up to ``START_LINGER_SECONDS`` to share its row write with the next one of its job.
(A job's start is not written here: it is a claim, committed before the job runs, so that
a duplicate delivery can be told apart; see job_claims.py.) On PostgreSQL these transactions commit without
waiting for the WAL flush (see ``_open_connection``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from sqlalchemy import Integer, Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from loom_common.db import Database
from loom_worker.metrics import JOB_RECORD_WRITES_FAILED
from loom_worker.models import Job

JOBS: Table = Job.__table__  # type: ignore[assignment]
MAX_BATCH = 1_000
# A start (which nobody waits for) is held back this long: a short job's start and end then
# share one row write. A progress report or an end is written at once, with the start.
START_LINGER_SECONDS = 0.05


class Written:
    """Set once the change is committed, or has failed for good (``error`` says why)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.error: BaseException | None = None

    def finish(self, error: BaseException | None = None) -> None:
        self.error = error
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True when stored; False when it failed or did not finish within ``timeout``."""
        return self._done.wait(timeout) and self.error is None


@dataclass
class Change:
    """Columns to set on one job record; ``insert`` holds the values of a new record (a start
    makes the record if the API did not), ``attempts`` is added to the record's count."""

    job_id: str
    values: dict[str, Any]
    insert: dict[str, Any] | None = None
    attempts: int = 0
    written: Written | None = None


@dataclass
class _Row:
    """Every change of one job in a batch, folded: later values win, attempts add up."""

    job_id: str
    values: dict[str, Any] = field(default_factory=dict)
    insert: dict[str, Any] | None = None
    attempts: int = 0

    def fold(self, change: Change) -> None:
        self.values.update(change.values)
        self.attempts += change.attempts
        if self.insert is None and change.insert is not None:
            self.insert = change.insert

    @property
    def shape(self) -> tuple[bool, tuple[str, ...]]:
        """Rows of one shape go in one executemany."""
        return self.insert is not None, tuple(sorted(self.values))


def fold(changes: Iterable[Change]) -> list[_Row]:
    rows: dict[str, _Row] = {}
    for change in changes:
        rows.setdefault(change.job_id, _Row(change.job_id)).fold(change)
    return list(rows.values())


@functools.cache
def _upsert(dialect: str, columns: tuple[str, ...]) -> Any:
    """Make the record or, if it exists, apply the change to it (attempts add up)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(JOBS)
    assignments: dict[str, Any] = {name: statement.excluded[name] for name in columns}
    assignments["attempts"] = JOBS.c.attempts + statement.excluded.attempts
    return statement.on_conflict_do_update(index_elements=[JOBS.c.id], set_=assignments)


@functools.cache
def _update(columns: tuple[str, ...]) -> Any:
    """Apply the change to an existing record; a record that is not there stays absent."""
    assignments: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=JOBS.c[name].type) for name in columns
    }
    assignments["attempts"] = JOBS.c.attempts + bindparam("new_attempts", type_=Integer())
    return update(JOBS).where(JOBS.c.id == bindparam("job_id")).values(assignments)


def write_rows(connection: Connection, rows: list[_Row]) -> None:
    shapes: dict[tuple[bool, tuple[str, ...]], list[_Row]] = {}
    for row in rows:
        shapes.setdefault(row.shape, []).append(row)
    dialect = connection.dialect.name
    for (inserts, columns), same_shape in shapes.items():
        if inserts:
            parameters = [
                {**(row.insert or {}), **row.values, "id": row.job_id, "attempts": row.attempts}
                for row in same_shape
            ]
            connection.execute(_upsert(dialect, columns), parameters)
        else:
            parameters = [
                {
                    "job_id": row.job_id,
                    "new_attempts": row.attempts,
                    **{f"new_{name}": value for name, value in row.values.items()},
                }
                for row in same_shape
            ]
            connection.execute(_update(columns), parameters)


class _HeldChanges:
    """Changes nobody waits for (starts), held back up to ``linger`` seconds so that a short
    job's start goes out with its end, as one row write. A change somebody waits for takes
    its job's held changes along (in order); a flush (job id "") takes them all."""

    def __init__(self, linger: float) -> None:
        self.linger = linger
        self._held: dict[str, list[Change]] = {}
        self._since: dict[str, float] = {}  # oldest first: dicts keep insertion order

    def seconds_to_next_due(self) -> float | None:
        for since in self._since.values():
            return max(since + self.linger - time.monotonic(), 0.0)
        return None

    def take_batch(self, arrived: list[Change]) -> list[Change]:
        now = time.monotonic()
        batch: list[Change] = []
        in_batch: set[str] = set()
        for change in arrived:
            if change.written is None and change.job_id not in in_batch:
                self._held.setdefault(change.job_id, []).append(change)
                self._since.setdefault(change.job_id, now)
                continue
            if change.job_id:
                batch.extend(self._release(change.job_id))
            else:
                for job_id in list(self._held):
                    batch.extend(self._release(job_id))
            batch.append(change)
            in_batch.add(change.job_id)
        for job_id, since in list(self._since.items()):
            if since + self.linger > now:
                break
            batch.extend(self._release(job_id))
        return batch

    def _release(self, job_id: str) -> list[Change]:
        self._since.pop(job_id, None)
        return self._held.pop(job_id, [])


class RecordWriter:
    """The writer thread of this process (started on first use, again after a fork)."""

    def __init__(
        self,
        database: Database,
        max_batch: int = MAX_BATCH,
        start_linger: float = START_LINGER_SECONDS,
    ) -> None:
        self.database = database
        self.max_batch = max_batch
        self.start_linger = start_linger
        self._changes: queue.SimpleQueue[Change] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._connection: Connection | None = None

    def submit(self, change: Change, *, wait_for_it: bool = False) -> Written | None:
        if wait_for_it:
            change.written = Written()
        self._ensure_thread()
        self._changes.put(change)
        return change.written

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every change handed over so far is stored (or has failed)."""
        written = self.submit(Change("", {}), wait_for_it=True)
        return written is not None and written.wait(timeout)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                if self._pid != os.getpid():
                    self._changes = queue.SimpleQueue()  # a forked child starts afresh
                    self._connection = None  # and must not share the parent's connection
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="loom-job-records", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        changes = self._changes
        held = _HeldChanges(self.start_linger)
        while True:
            try:
                arrived = [changes.get(timeout=held.seconds_to_next_due())]
            except queue.Empty:
                arrived = []
            while arrived and len(arrived) < self.max_batch:
                try:
                    arrived.append(changes.get_nowait())
                except queue.Empty:
                    break
            batch = held.take_batch(arrived)
            if batch:
                self._store(batch)

    def _store(self, batch: list[Change]) -> None:
        real = [change for change in batch if change.job_id]
        try:
            connection = self._open_connection()
            with connection.begin():
                write_rows(connection, fold(real))
        except Exception:
            # One bad record must not sink the others: store the jobs one by one.
            logger.exception("could not store {} job record changes together", len(real))
            self._close_connection()
            self._store_one_by_one(batch)
            return
        for change in batch:
            if change.written is not None:
                change.written.finish()

    def _open_connection(self) -> Connection:
        """The writer's own connection, kept between batches (no pool check-out and ping
        per batch); opened again after a failure."""
        if self._connection is None or self._connection.invalidated:
            connection = self.database.engine.connect()
            if connection.dialect.name == "postgresql":
                # The commit returns once PostgreSQL has the change, without waiting for
                # its WAL flush: only a crash of the database server itself could lose the
                # last fraction of a second of record updates (never a torn record).
                connection.exec_driver_sql("SET synchronous_commit TO OFF")
                connection.commit()
            self._connection = connection
        return self._connection

    def _close_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
        self._connection = None

    def _store_one_by_one(self, batch: list[Change]) -> None:
        by_job: dict[str, list[Change]] = {}
        for change in batch:
            by_job.setdefault(change.job_id, []).append(change)
        for job_id, changes in by_job.items():
            error: BaseException | None = None
            if job_id:
                try:
                    with self.database.engine.begin() as connection:
                        write_rows(connection, fold(changes))
                except Exception as failure:
                    error = failure
                    JOB_RECORD_WRITES_FAILED.inc(len(changes))
                    logger.exception("could not store the record of job {}", job_id)
            for change in changes:
                if change.written is not None:
                    change.written.finish(error)
