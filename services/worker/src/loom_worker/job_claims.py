"""Claiming a job's record before running it: how a duplicate delivery is told apart.

RabbitMQ delivers at least once. A job's message comes again when the worker that held it
died before its ack (``redelivered`` is set), and a publisher that lost its connection while
waiting for a confirm publishes the same message (same id) a second time (``redelivered`` is
not set on that copy). The flag alone cannot tell them apart, so the record decides, in one
conditional upsert (a single statement: two workers cannot both win it):

- no record yet, or ``queued``/``retrying``: claimed, the record says ``running`` and its
  attempts count up;
- ``running`` and this delivery is a redelivery: the worker that ran it died (RabbitMQ gives
  a delivery back only once the channel that held it closed), so it runs again as a new
  attempt on the same record;
- ``running`` otherwise: another copy of the message is running now; this one is acked
  without running (if that worker dies, its own delivery comes back and runs);
- ``succeeded``, ``failed`` or ``dead``: finished, acked without running.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from sqlalchemy import ColumnElement, Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from loom_common.db import Database, utcnow
from loom_worker.models import Job

JOBS: Table = Job.__table__  # type: ignore[assignment]
CLAIMABLE = ("queued", "retrying")

Claim = Literal["claimed", "succeeded", "failed", "dead", "running_elsewhere"]


@functools.cache
def _claim_statement(dialect: str, redelivered: bool) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(JOBS)
    claimable: ColumnElement[bool] = JOBS.c.status.in_(CLAIMABLE)
    if redelivered:
        claimable = or_(claimable, JOBS.c.status == "running")
    return statement.on_conflict_do_update(
        index_elements=[JOBS.c.id],
        set_={
            "status": "running",
            "started_at": statement.excluded.started_at,
            "finished_at": None,
            "attempts": JOBS.c.attempts + 1,
        },
        where=claimable,
    ).returning(JOBS.c.id)


def claim_job(database: Database, message: Any, new_record: dict[str, Any]) -> Claim:
    """Claim the job of ``message`` (making its record from ``new_record`` if it has none)."""
    # Messages that did not come from RabbitMQ (a stub broker) say nothing: taken as redelivered.
    redelivered = bool(getattr(message, "redelivered", True))
    values = {
        **new_record,
        "id": message.message_id,
        "status": "running",
        "attempts": 1,
        "started_at": utcnow(),
    }
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # As for the outcomes (record_writer.py): no wait for the WAL flush.
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        statement = _claim_statement(connection.dialect.name, redelivered)
        if connection.execute(statement, values).first() is not None:
            return "claimed"
        status = connection.scalar(select(JOBS.c.status).where(JOBS.c.id == message.message_id))
    if status == "succeeded" or status == "failed" or status == "dead":
        return status
    return "running_elsewhere"
