"""Work that must wait for a SQLAlchemy session's transaction to commit.

Sending a message, refusing a revoked credential everywhere or moving a cache to a new
version is only right once the rows it is about are committed: sent earlier, a worker may
start before the row exists, and a failed commit leaves the message or the invalidation
behind for a change that never happened. :func:`after_commit` holds the callback on the
session; it runs when the session commits and is dropped when it rolls back (as
Warehouse's ``tasks.py`` does for Celery tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_PENDING = "loom_after_commit"


def after_commit(
    session: Session, callback: Callable[[], object], *, key: Hashable | None = None
) -> None:
    """Call ``callback()`` once ``session`` commits; forget it if the session rolls back.

    ``key``: callbacks with the same key run once per commit (the first one registered).
    Callbacks run in the order they were registered. One that raises does not stop the rest
    (a message the broker refused must not keep a cache from moving on); the first exception
    reaches whoever called ``commit()`` once all have run (the rows are committed by then).
    """
    if session.get_transaction() is None:
        session.begin()  # so that a rollback before any SQL still drops the callback
    pending: dict[Hashable, Callable[[], object]] = session.info.setdefault(_PENDING, {})
    pending.setdefault(object() if key is None else key, callback)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    first_error: Exception | None = None
    for callback in session.info.pop(_PENDING, {}).values():
        try:
            callback()
        except Exception as error:
            first_error = first_error or error
    if first_error is not None:
        raise first_error


@event.listens_for(Session, "after_transaction_end")
def _drop_unrun(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without a commit running the work (closed, failed).
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    # Every rollback of the outermost transaction, even one that never reached the database.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
