"""A transactional outbox: messages about rows are written with the rows, then published.

Without it, :func:`loom_common.broker.send_after_commit` publishes once the rows are
committed, and a broker that is away at that moment loses the message (the rows stay). With
an :class:`Outbox` attached to a service's :class:`~loom_common.db.Database`, the encoded
message is also inserted into ``outbox_messages`` in the same transaction: it exists exactly
when the rows exist. After the commit it is published at once and its row deleted once the
broker confirmed; if the broker does not take it, the row stays and a relay thread (one per
process) publishes it later, oldest first, deleting each row after its confirm.

A publish whose row could not be deleted (a crash between the two) is published again: the
outbox delivers at least once, and the consumers are idempotent by message id (the worker
claims each job's record before running it). The relay leaves rows younger than ``grace``
to the publish right after their commit, so the two rarely send the same message. On
PostgreSQL the relays of several processes skip each other's rows (``FOR UPDATE SKIP
LOCKED``); on SQLite they may both send a row (a duplicate the consumer skips).

The table is in each service's own database: a service that attaches an outbox declares
:func:`outbox_table` on its metadata and creates it in a migration.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import Any

import dramatiq
from loguru import logger
from prometheus_client import Counter
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, delete, select
from sqlalchemy.orm import Session

from loom_common.db import Database, UTCDateTime, utcnow

TABLE_NAME = "outbox_messages"
SESSION_KEY = "loom_outbox"

OUTBOX_DEFERRED = Counter(
    "loom_outbox_messages_deferred_total",
    "Messages the broker did not take right after their commit: kept in the outbox for the relay",
    ["queue"],
)
OUTBOX_RELAYED = Counter(
    "loom_outbox_messages_relayed_total",
    "Messages the outbox relay published (and deleted) after their first publish failed",
    ["queue"],
)


def outbox_table(metadata: MetaData) -> Table:
    """``outbox_messages`` on ``metadata`` (the service's own, so that migrations see it)."""
    return Table(
        TABLE_NAME,
        metadata,
        Column("id", String(64), primary_key=True),  # the message id
        Column("queue", String(200), nullable=False),
        Column("body", LargeBinary, nullable=False),  # the message as the broker encodes it
        Column("created_at", UTCDateTime(), nullable=False, index=True),
    )


class Outbox:
    """The outbox of one database, and its relay thread (started on attach, again after a fork).

    ``interval``: seconds between relay rounds; ``grace``: age before the relay takes a row.
    """

    def __init__(
        self,
        database: Database,
        table: Table,
        *,
        interval: float = 2.0,
        grace: float = 5.0,
        batch: int = 100,
    ) -> None:
        self.database = database
        self.table = table
        self.interval = interval
        self.grace = timedelta(seconds=grace)
        self.batch = batch
        self._lock = threading.Lock()
        self._pid: int | None = None

    def attach(self) -> Outbox:
        """Every session of the database writes its after-commit messages here from now on."""
        self.database.sessions.configure(info={SESSION_KEY: self})
        self.ensure_relay()
        return self

    def add(self, session: Session, message: dramatiq.Message[Any]) -> bytes:
        """Write ``message`` in ``session``'s transaction; returns its encoded body."""
        body = message.encode()
        session.execute(
            self.table.insert().values(
                id=message.message_id, queue=message.queue_name, body=body, created_at=utcnow()
            )
        )
        return body

    def publish_committed(self, message: dramatiq.Message[Any]) -> None:
        """Right after the commit: publish, then forget the row. Never raises: what the broker
        did not take is the relay's to send."""
        self.ensure_relay()
        try:
            dramatiq.get_broker().enqueue(message)
        except Exception as error:
            OUTBOX_DEFERRED.labels(queue=message.queue_name).inc()
            logger.warning(
                "message {} kept in the outbox for later: the broker did not take it ({})",
                message.message_id,
                error,
            )
            return
        self._forget(message.message_id)

    def relay_due(self) -> int:
        """One relay round: publish the rows older than ``grace``; how many were sent."""
        table = self.table
        sent = 0
        with self.database.engine.begin() as connection:
            rows = connection.execute(
                select(table.c.id, table.c.queue, table.c.body)
                .where(table.c.created_at < utcnow() - self.grace)
                .order_by(table.c.created_at)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            for message_id, queue, body in rows:
                try:
                    dramatiq.get_broker().enqueue(dramatiq.Message.decode(body))
                except Exception as error:
                    logger.warning("outbox relay: the broker is still away ({})", error)
                    break  # the rows deleted so far are committed; the rest wait
                connection.execute(delete(table).where(table.c.id == message_id))
                OUTBOX_RELAYED.labels(queue=queue).inc()
                sent += 1
        return sent

    def ensure_relay(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                threading.Thread(
                    target=self._relay_forever, name="loom-outbox", daemon=True
                ).start()
                self._pid = os.getpid()

    def _relay_forever(self) -> None:
        while True:
            threading.Event().wait(self.interval)
            try:
                self.relay_due()
            except Exception:
                # The database away: the rows are safe there, the next round tries again.
                logger.opt(exception=True).warning("outbox relay round failed")

    def _forget(self, message_id: str) -> None:
        try:
            with self.database.engine.begin() as connection:
                connection.execute(delete(self.table).where(self.table.c.id == message_id))
        except Exception as error:
            # Sent already: the relay sends it once more, and the consumer skips the copy.
            logger.warning("outbox row of sent message {} not deleted: {}", message_id, error)


def outbox_of(session: Session) -> Outbox | None:
    outbox = session.info.get(SESSION_KEY)
    return outbox if isinstance(outbox, Outbox) else None
