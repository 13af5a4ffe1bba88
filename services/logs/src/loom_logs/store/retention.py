"""Retention: records older than their service's retention go, whole days at a time where possible.

``python -m loom_logs.store.retention`` runs a pass every ``LOOM_LOGS_RETENTION_INTERVAL`` seconds
(``--once`` for one pass, from cron). Days: ``LOOM_LOGS_RETENTION_DAYS`` for every service, or
``LOOM_LOGS_RETENTION_BY_SERVICE`` ("web=7,worker=30") for some.

A day whose every record is past the longest retention is dropped whole (its table or
partition, see :mod:`loom_logs.store.partitions`): no row-by-row delete, the space reused at once.
Services kept for less than the longest are then trimmed within the days that remain, in
short batches, each its own transaction, so the consumer's inserts wait at most one batch for
SQLite's write lock.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from loguru import logger
from sqlalchemy import ColumnElement, Table, delete, or_, select

from loom_common.db import Database, utcnow
from loom_common.runtime import init_process
from loom_logs.config import LogsConfig, load_logs_config
from loom_logs.metrics import RECORDS_EXPIRED
from loom_logs.store.batches import forget_old_batches
from loom_logs.store.partitions import drop_day, existing_days, tables_between

BATCH = 5_000
OTHERS = "none"  # the metric label of services without a retention of their own

Condition = Callable[[Table], ColumnElement[bool]]


def _of_service(service: str) -> Condition:
    return lambda table: table.c.service == service


def _of_none_of(services: list[str]) -> Condition:
    return lambda table: or_(table.c.service.is_(None), table.c.service.not_in(services))


def _delete_in_batches(database: Database, cutoff: datetime, which: Condition) -> int:
    """Delete the records of ``which`` timed before ``cutoff``; how many went."""
    deleted = 0
    with database.session() as session:
        tables = tables_between(session, until=cutoff)
    for table in tables:
        condition = which(table) & (table.c.time < cutoff)
        while True:
            with database.session() as session:
                batch = select(table.c.id).where(condition).limit(BATCH)
                result = session.execute(delete(table).where(table.c.id.in_(batch)))
                count: int = result.rowcount  # type: ignore[attr-defined]
            deleted += count
            if count < BATCH:
                break
    return deleted


def _drop_whole_days(
    database: Database, cutoff: datetime, label: Callable[[str | None], str]
) -> dict[str, int]:
    """Drop every day that ends at or before ``cutoff``; the records dropped, by label."""
    dropped: dict[str, int] = {}
    with database.session() as session:
        days = [
            day
            for day in existing_days(session)
            if datetime.combine(day + timedelta(days=1), time(), UTC) <= cutoff
        ]
    for day in days:
        with database.session() as session:
            held = drop_day(session, day)
        for service, count in held.items():
            dropped[label(service)] = dropped.get(label(service), 0) + count
        logger.info("retention dropped the log records of {} ({} records)", day, held.total())
    return dropped


def expire_records(database: Database, config: LogsConfig, now: datetime) -> dict[str, int]:
    """Delete what is past retention; how many records went, by service (``none``: the rest)."""
    per_service = config.retention_per_service
    longest = max([config.retention_days, *per_service.values()])

    def label(service: str | None) -> str:
        return service if service is not None and service in per_service else OTHERS

    deleted = dict.fromkeys([*per_service, OTHERS], 0)
    for key, count in _drop_whole_days(database, now - timedelta(days=longest), label).items():
        deleted[key] += count
    for service, days in per_service.items():
        if days < longest:
            cutoff = now - timedelta(days=days)
            deleted[service] += _delete_in_batches(database, cutoff, _of_service(service))
    if config.retention_days < longest:
        cutoff = now - timedelta(days=config.retention_days)
        deleted[OTHERS] += _delete_in_batches(database, cutoff, _of_none_of(list(per_service)))
    for service, count in deleted.items():
        if count:
            RECORDS_EXPIRED.labels(service=service).inc(count)
    return deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args()
    settings = init_process("logs")
    config = load_logs_config()
    database = Database.for_service(settings, "logs")
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    while not stopped.is_set():
        deleted = expire_records(database, config, utcnow())
        with database.session() as session:
            forget_old_batches(session)
        logger.bind(deleted=deleted).info("retention deleted {} log records", sum(deleted.values()))
        if args.once:
            break
        stopped.wait(config.retention_interval)
    database.dispose()


if __name__ == "__main__":
    main()
