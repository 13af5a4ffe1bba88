"""Retention: records older than their service's retention are deleted, in short batches.

``python -m loom_logs.retention`` runs a pass every ``LOOM_LOGS_RETENTION_INTERVAL`` seconds
(``--once`` for one pass, from cron). Each batch is its own transaction, so the consumer's
inserts wait at most one batch for SQLite's write lock. Days: ``LOOM_LOGS_RETENTION_DAYS``
for every service, or ``LOOM_LOGS_RETENTION_BY_SERVICE`` ("web=7,worker=30") for some.

The table is not partitioned by day yet: this deletes rows (by the time index), it does not
drop whole days.
"""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import datetime, timedelta

from loguru import logger
from sqlalchemy import ColumnElement, delete, or_, select

from loom_common.db import Database, utcnow
from loom_common.runtime import init_process
from loom_logs.config import LogsConfig, logs_config
from loom_logs.metrics import RECORDS_EXPIRED
from loom_logs.models import LogRecord

BATCH = 5_000
OTHERS = "none"


def _delete_in_batches(database: Database, condition: ColumnElement[bool]) -> int:
    deleted = 0
    while True:
        with database.session() as session:
            batch = select(LogRecord.id).where(condition).limit(BATCH)
            result = session.execute(
                delete(LogRecord).where(LogRecord.id.in_(batch)),
                execution_options={"synchronize_session": False},
            )
            count: int = result.rowcount  # type: ignore[attr-defined]
        deleted += count
        if count < BATCH:
            return deleted


def _older_than(which: ColumnElement[bool], cutoff: datetime) -> ColumnElement[bool]:
    return which & (LogRecord.time < cutoff)


def expire_records(database: Database, config: LogsConfig, now: datetime) -> dict[str, int]:
    """Delete what is past retention; how many records went, by service."""
    per_service = config.retention_per_service
    deleted: dict[str, int] = {}
    for service, days in per_service.items():
        old = _older_than(LogRecord.service == service, now - timedelta(days=days))
        deleted[service] = _delete_in_batches(database, old)
    others = or_(LogRecord.service.is_(None), LogRecord.service.not_in(list(per_service)))
    deleted[OTHERS] = _delete_in_batches(
        database, _older_than(others, now - timedelta(days=config.retention_days))
    )
    for service, count in deleted.items():
        if count:
            RECORDS_EXPIRED.labels(service=service).inc(count)
    return deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args()
    settings = init_process("logs")
    config = logs_config()
    database = Database.for_service(settings, "logs")
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    while not stopped.is_set():
        deleted = expire_records(database, config, utcnow())
        logger.bind(deleted=deleted).info("retention deleted {} log records", sum(deleted.values()))
        if args.once:
            break
        stopped.wait(config.retention_interval)
    database.dispose()


if __name__ == "__main__":
    main()
