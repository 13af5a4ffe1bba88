"""Storing events: each one is scrubbed, kept, and counted on the issue its fingerprint names.

Per issue only the first event and the latest ``events_per_issue`` are kept (the count,
the affected users and the per-minute counts include every event).

:func:`record_event` stores one event inside a caller's session (tests call it directly);
:func:`ingest_batch` is what the consumer calls: many events in one transaction, retried
when a concurrent consumer stored one of them first. Both go through
:func:`loom_errors.store.event_batch.store_batch`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loom_common.db import Database
from loom_errors.config import ErrorsConfig, load_errors_config
from loom_errors.metrics import EVENTS_DUPLICATE
from loom_errors.models import Issue, utcnow
from loom_errors.store.event_batch import PreparedEvent, Stored, prepare_event, store_batch

__all__ = [
    "Stored",
    "ingest",
    "ingest_batch",
    "ingest_event",
    "record_event",
    "store_event",
]

# A batch loses a race at most once per event it holds; a few retries are plenty.
_ATTEMPTS = 3


def record_event(
    session: Session,
    raw: Any,
    *,
    project_id: int | None = None,
    received_at: datetime | None = None,
    config: ErrorsConfig | None = None,
) -> Stored:
    """Store one Sentry event and count it on its issue (created if new).

    Idempotent: an ``event_id`` already stored changes nothing (``duplicate``).
    Raises :class:`~loom_errors.ingest.sentry_event.MalformedEvent` for an unusable event, and
    ``IntegrityError`` when another transaction stored the same event first (retry in a
    new transaction; :func:`ingest` does).
    """
    config = config or load_errors_config()
    (stored,) = store_batch(
        session,
        [prepare_event(raw, project_id)],
        received_at=received_at or utcnow(),
        keep_latest=config.events_per_issue,
    )
    return stored


def store_event(
    session: Session,
    raw: Any,
    *,
    project_id: int | None = None,
    received_at: datetime | None = None,
) -> Issue:
    """:func:`record_event`, returning the issue."""
    return record_event(session, raw, project_id=project_id, received_at=received_at).issue


def ingest_batch(
    database: Database, batch: list[PreparedEvent], config: ErrorsConfig | None = None
) -> list[Stored]:
    """Store prepared events in one transaction (one commit); one outcome per event, in order."""
    config = config or load_errors_config()
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with database.session() as session:
                outcomes = store_batch(
                    session, batch, received_at=utcnow(), keep_latest=config.events_per_issue
                )
        except IntegrityError:
            # Lost a race on an event id: the rows exist now, and count as duplicates.
            if attempt == _ATTEMPTS:
                raise
            continue
        EVENTS_DUPLICATE.inc(sum(stored.duplicate for stored in outcomes))
        return outcomes
    raise AssertionError("unreachable")


def ingest(database: Database, raw: Any, project_id: int | None = None) -> Stored:
    """Store one event in its own transaction (see :func:`record_event`)."""
    (stored,) = ingest_batch(database, [prepare_event(raw, project_id)])
    return stored


def ingest_event(database: Database, raw: Any, project_id: int | None = None) -> Issue:
    """:func:`ingest`, returning the issue."""
    return ingest(database, raw, project_id).issue
