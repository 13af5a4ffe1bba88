"""The errors consumer: ``dramatiq loom_errors.actors --queues errors``.

Importing this module starts the process (settings, broker, logging, error capture) and opens
the errors database; the actor is declared on the broker that is current at import.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from loguru import logger

from loom_common.contracts import ERRORS_ACTOR, ERRORS_QUEUE
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_errors.ingest import ingest_event
from loom_errors.sentry_event import MalformedEvent

settings = init_process("errors")
database = Database(settings.database_url("errors"))


@dramatiq.actor(
    actor_name=ERRORS_ACTOR,
    queue_name=ERRORS_QUEUE,
    max_retries=3,
    throws=(MalformedEvent,),  # can never succeed: straight to the dead-letter queue
)
def ingest_error_event(event: dict[str, Any]) -> None:
    """Store one Sentry event (the ``errors.ingest`` contract) and count it on its issue."""
    try:
        issue = ingest_event(database, event)
    except MalformedEvent as error:
        event_id = event.get("event_id") if isinstance(event, dict) else None
        logger.bind(event_id=event_id).warning("dead-lettering an error event: {}", error)
        raise
    logger.bind(issue_id=issue.id, event_id=issue.last_event_id).debug(
        "stored error event on issue {} ({} events)", issue.id, issue.count
    )
