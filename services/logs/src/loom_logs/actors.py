"""The logs consumer: ``dramatiq loom_logs.actors --queues logs``.

Importing this module starts the process (settings, broker, logging) and opens the database.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from loguru import logger

from loom_common.contracts import LOGS_ACTOR, LOGS_QUEUE
from loom_common.db import Database
from loom_common.db_failover import run_unit
from loom_common.runtime import init_process
from loom_logs.store.batches import store_batch_once
from loom_logs.store.insert import StoreResult

settings = init_process("logs")
database = Database.for_service(settings, "logs")


# ship_logs=False: this actor's own log lines (and the job-run line about it) must not be
# shipped, or storing each batch would send another batch to store, forever.
@dramatiq.actor(actor_name=LOGS_ACTOR, queue_name=LOGS_QUEUE, ship_logs=False, max_retries=5)
def ingest(records: list[dict[str, Any]]) -> None:
    """Store one batch, once; bad records are rejected alone, a database failure retries it."""

    def store() -> StoreResult | None:
        with database.session() as session:
            return store_batch_once(session, records)

    # Safe to run twice (the batch id is stored with it): a failover costs a few seconds here
    # rather than a Dramatiq retry's backoff; the message is acked only after the commit.
    result = run_unit(store, describe="a log batch")
    if result is None:
        logger.info("a batch of {} log records was stored before: skipped", len(records))
    else:
        logger.debug("stored {} log records, rejected {}", result.stored, result.rejected)
