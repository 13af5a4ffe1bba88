"""Each batch of the logs queue stored once, however often it arrives.

RabbitMQ delivers at least once: a consumer that committed a batch and then lost its
connection before the ack gets the same message again, and a shipper that could not tell
whether the broker took a batch spools it and sends it again. A batch is recognised by a
digest of its content (the records as received, with their times to the microsecond), kept
in ``stored_batches`` in the same transaction as its records. Digests are kept for
``REMEMBERED`` (retention forgets older ones): a repeat comes within minutes, not days.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta

import orjson
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loom_common.db import utcnow
from loom_logs.metrics import BATCHES_REPEATED
from loom_logs.models import StoredBatch
from loom_logs.store.insert import StoreResult, store_records

REMEMBERED = timedelta(days=2)


def batch_digest(records: object) -> str:
    payload = orjson.dumps(records, default=str, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def _first_time(session: Session, digest: str) -> bool:
    """Remember ``digest``; False when it was already remembered (the batch is a repeat)."""
    values = {"digest": digest, "stored_at": utcnow()}
    dialect_insert = (
        sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert
    )
    statement = dialect_insert(StoredBatch).values(values).on_conflict_do_nothing()
    # RETURNING, not rowcount: the row comes back only when it was inserted.
    return session.execute(statement.returning(StoredBatch.digest)).first() is not None


def store_batch_once(session: Session, records: Sequence[object]) -> StoreResult | None:
    """Store the batch as :func:`store_records` does; None (nothing stored) for a repeat."""
    if not _first_time(session, batch_digest(records)):
        BATCHES_REPEATED.inc()
        return None
    return store_records(session, records)


def forget_old_batches(session: Session) -> int:
    result = session.execute(
        delete(StoredBatch).where(StoredBatch.stored_at < utcnow() - REMEMBERED)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
