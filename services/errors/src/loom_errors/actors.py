"""The errors consumer: ``dramatiq loom_errors.actors --queues errors``.

Importing this module starts the process (settings, broker, logging, error capture) and opens
the errors database; the actor is declared on the broker that is current at import.

Each worker thread prepares its event and hands it to the process's batch writer, which
stores the events of all threads in one transaction (see store/batch_writer.py): run the consumer
with many threads (service.toml) so that batches can grow under load.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from loguru import logger

from loom_common.contracts import ERRORS_ACTOR, ERRORS_QUEUE
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_errors.alerts.sending import DigestClock, alert_on, retry_due_alerts, send_due_digests
from loom_errors.config import load_errors_config
from loom_errors.ingest.sentry_event import MalformedEvent
from loom_errors.metrics import EVENTS_DEAD_LETTERED
from loom_errors.store.batch_writer import BatchWriter
from loom_errors.store.event_batch import PreparedEvent, Stored, prepare_event
from loom_errors.store.events import ingest_batch

settings = init_process("errors")
config = load_errors_config()
database = Database.for_service(settings, "errors")
digest_clock = DigestClock()


def _store_batch(batch: list[PreparedEvent]) -> list[Stored]:
    # Looked up at each call: tests swap in their own database.
    return ingest_batch(database, batch, config)


batch_writer = BatchWriter(_store_batch)


def _alert(stored: Stored) -> None:
    """Alerts never fail the event: it is stored already, and a retry would not re-alert."""
    try:
        alert_on(database, settings, config, stored)
    except Exception:
        logger.exception("alerting on issue {} failed", stored.issue.id)


def _send_due_emails() -> None:
    """Digests, and alerts whose earlier delivery failed, once their time has come."""
    try:
        retry_due_alerts(database, settings, config)
        send_due_digests(database, settings, config)
    except Exception:
        logger.exception("sending due alert emails failed")


@dramatiq.actor(
    actor_name=ERRORS_ACTOR,
    queue_name=ERRORS_QUEUE,
    max_retries=3,
    throws=(MalformedEvent,),  # can never succeed: straight to the dead-letter queue
)
def ingest_error_event(event: dict[str, Any], project_id: int | None = None) -> None:
    """Store one Sentry event (the ``errors.ingest`` contract) and count it on its issue.

    ``project_id`` comes with events taken in over HTTP; Loom's own services send none and
    their events go to the default project.
    """
    try:
        prepared = prepare_event(event, project_id)
    except MalformedEvent as error:
        EVENTS_DEAD_LETTERED.inc()
        event_id = event.get("event_id") if isinstance(event, dict) else None
        logger.bind(event_id=event_id).warning("dead-lettering an error event: {}", error)
        raise
    outcome = batch_writer.store(prepared)
    if outcome.alert:
        _alert(outcome.stored)
    if digest_clock.due():
        _send_due_emails()
    issue = outcome.stored.issue
    logger.bind(issue_id=issue.id, event_id=prepared.event.event_id).debug(
        "stored error event on issue {} ({} events)", issue.id, issue.count
    )
