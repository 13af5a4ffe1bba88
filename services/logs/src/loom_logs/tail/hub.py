"""Live tail inside one HTTP worker process: ONE poller thread, many subscribers.

Records are stored by the consumer process, so a worker learns of new ones by asking the
database for rows with an id past the last it saw, every ``interval`` seconds while anyone
is listening. Ids grow within a day's table (SQLite) or across the partitioned table
(PostgreSQL), so the last id is kept per table, for the days from yesterday on: a line
stored now with a time older than that is found by search, not shown in live tail. Each new
row is encoded once and offered to every subscriber whose filter it matches. A subscriber's
queue is bounded: a client that cannot keep up loses lines (counted in
``loom_logs_tail_dropped_total`` and told to it), never the worker's memory.
"""

from __future__ import annotations

import os
import queue
import threading
from datetime import timedelta
from typing import Any

import orjson
from loguru import logger
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from loom_common.db import Database, utcnow
from loom_logs.metrics import TAIL_DROPPED
from loom_logs.models import LogRow
from loom_logs.search.serialisers import log_item
from loom_logs.store.partitions import tables_between
from loom_logs.tail.filter import TailFilter, TailRow

MAX_ROWS_PER_POLL = 5_000
RECENT = timedelta(days=1)  # the days watched: from this long ago on, future days included


class Subscription:
    def __init__(self, wanted: TailFilter, size: int) -> None:
        self.filter = wanted
        self.events: queue.Queue[bytes] = queue.Queue(maxsize=size)
        self.dropped = 0

    def offer(self, event: bytes) -> None:
        try:
            self.events.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            TAIL_DROPPED.inc()


def _row(record: LogRow, item: dict[str, Any]) -> TailRow:
    event = b"id: %d\nevent: log\ndata: %s\n\n" % (record.id, orjson.dumps(item))
    return TailRow(
        id=record.id,
        service=record.service,
        level_no=record.level_no,
        request_id=record.request_id,
        message_folded=record.message.casefold(),
        time_seconds=record.time.timestamp(),
        fields=item["fields"],
        event=event,
    )


class TailHub:
    def __init__(self, database: Database, *, interval: float, queue_size: int) -> None:
        self.database = database
        self.interval = interval
        self.queue_size = queue_size
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._last_ids: dict[str, int] = {}  # table name -> the last id offered
        self._thread: threading.Thread | None = None
        self._pid = 0

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, wanted: TailFilter) -> Subscription:
        """Lines stored from now on that match ``wanted`` will be offered to the subscription."""
        subscription = Subscription(wanted, self.queue_size)
        with self._lock:
            self._ensure_poller()
            if not self._subscriptions:
                # Start from what is stored now, in the caller's thread, so that a line
                # stored right after the client hears "connected" is not skipped.
                self._last_ids = self._newest_ids()
            self._subscriptions.add(subscription)
        self._wake.set()
        return subscription

    @staticmethod
    def _recent_tables(session: Session) -> list[Table]:
        return tables_between(session, since=utcnow() - RECENT)[::-1]  # oldest day first

    def _newest_ids(self) -> dict[str, int]:
        with self.database.session() as session:
            return {
                table.name: session.scalar(select(func.max(table.c.id))) or 0
                for table in self._recent_tables(session)
            }

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def _ensure_poller(self) -> None:
        # A thread does not survive fork: a worker forked from a process that polled starts its own.
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="tail-poller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            if not self._subscriptions:
                self._wake.wait()
                self._wake.clear()
                continue
            try:
                self._poll()
            except Exception as error:  # a database hiccup must not end live tail for good
                logger.warning("live tail could not read new log records: {}", error)
            self._wake.wait(self.interval)
            self._wake.clear()

    def _poll(self) -> None:
        rows: list[TailRow] = []
        last_ids: dict[str, int] = {}
        with self.database.session() as session:
            for table in self._recent_tables(session):
                # A day made since the first subscriber came holds only new lines: from 0.
                last_id = self._last_ids.get(table.name, 0)
                records = session.execute(
                    select(table)
                    .where(table.c.id > last_id)
                    .order_by(table.c.id)
                    .limit(MAX_ROWS_PER_POLL)
                ).all()
                rows.extend(
                    _row(record, log_item(record).model_dump(mode="json")) for record in records
                )
                last_ids[table.name] = records[-1].id if records else last_id
        self._last_ids = last_ids  # days no longer recent are forgotten
        if not rows:
            return
        with self._lock:
            subscriptions = list(self._subscriptions)
        for row in rows:
            for subscription in subscriptions:
                if subscription.filter.matches(row):
                    subscription.offer(row.event)
