"""Surviving a PostgreSQL failover without a restart.

With Patroni the primary can move to the other host at any time. What a service then sees:

- pooled connections to the old primary are cut (the server died, or Patroni stopped it:
  ``AdminShutdown``), or still open to a server that has since become a standby, where every
  write fails with ``ReadOnlySqlTransaction``;
- for ``retry_timeout`` + ``ttl`` seconds (about 12 s) no host takes writes: a new connection
  with ``target_session_attrs=read-write`` is refused by every host in the URL.

:func:`watch_for_failover` makes SQLAlchemy treat the server-side cases as disconnects, so that
the whole pool is thrown away and the next unit of work connects afresh, to whichever host the
multi-host URL now finds writable. :func:`is_outage` tells such an error from a bug: HTTP answers
503 with ``Retry-After`` for it (``flask_app``), and :func:`run_unit` retries a unit of work
that is safe to run twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg.errors
from loguru import logger
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from loom_common.metrics import DB_OUTAGE_RETRIES

T = TypeVar("T")

# Server-side errors that mean "this connection is to the wrong server now", not "bad query".
_FAILOVER_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.errors.ReadOnlySqlTransaction,  # 25006: the old primary came back as a standby
    psycopg.errors.AdminShutdown,  # 57P01: server stopping, or pg_terminate_backend
    psycopg.errors.CrashShutdown,  # 57P02
    psycopg.errors.CannotConnectNow,  # 57P03: starting up or shutting down
)


def _on_error(context: Any) -> None:
    if isinstance(context.original_exception, _FAILOVER_ERRORS):
        # SQLAlchemy then invalidates this connection and every other one in the pool
        # (invalidate_pool_on_disconnect): they all point at the same old server.
        context.is_disconnect = True


def watch_for_failover(engine: Engine) -> None:
    """Invalidate ``engine``'s pool when its server turns out to be gone or read-only."""
    event.listen(engine, "handle_error", _on_error)


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means no writable primary was reachable (a failover, an outage)."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error.orig, _FAILOVER_ERRORS):
        return True
    # psycopg.OperationalError itself (not a subclass with a SQLSTATE such as a lock timeout):
    # connecting failed, e.g. no host in the list accepted a read-write session.
    return type(error.orig) is psycopg.OperationalError


def run_unit(
    unit: Callable[[], T],
    *,
    attempts: int = 4,
    first_wait: float = 0.5,
    describe: str = "unit of work",
) -> T:
    """Run ``unit`` (one transaction, committed inside it), again after an outage.

    Only for a unit that is safe to run twice: an outage during COMMIT leaves it unknown whether
    the commit happened, so the unit must be idempotent (a batch id, ``ON CONFLICT``). Waits
    double from ``first_wait`` (0.5 + 1 + 2 s by default: enough for a pool to reconnect, not
    for a whole failover; past that the caller's own retry, e.g. Dramatiq's, takes over).
    """
    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            return unit()
        except DBAPIError as error:
            if attempt == attempts or not is_outage(error):
                raise
            DB_OUTAGE_RETRIES.inc()
            logger.warning(
                "database unreachable or moved during {} (attempt {} of {}), again in {:.1f} s: {}",
                describe,
                attempt,
                attempts,
                wait,
                type(error.orig).__name__,
            )
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")
