"""Reads to read replicas, writes and reads-after-write to the primary.

A :class:`RoutingSession` (SQLAlchemy's documented way: a ``Session`` overriding ``get_bind``)
sends each statement to the primary or to one replica:

- writes (a flush, ``INSERT``/``UPDATE``/``DELETE``, ``SELECT ... FOR UPDATE``, raw SQL that
  is not a ``SELECT``) go to the primary, and from then on every statement of that session too,
  so that it reads its own uncommitted rows;
- a read goes to the primary when the current *unit of work* (one HTTP request, one job) has
  already written, so that a request never misses the row it just committed because a replica
  lags (read-your-writes). :func:`start_unit_of_work` starts a unit; the request middleware and
  the Dramatiq request-id middleware call it;
- a bind asked for without a statement (``session.connection()``) is the primary;
- any other read goes to a replica, chosen round-robin once per session (one session sees one
  snapshot source). A replica that fails is skipped for ``retry_after`` seconds and its reads
  go to the other replicas or to the primary; when that time is up it is probed once (connect
  and ``SELECT 1``) before it takes reads again. The primary is what readiness checks: a
  service whose replica is down still serves, from the primary.

Outside any unit (scripts, shells) a write is remembered for the rest of the context, so
reads stay on the primary: slower, never stale.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from loguru import logger
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import Select

_wrote_in_unit: ContextVar[bool] = ContextVar("loom_db_wrote_in_unit", default=False)


def start_unit_of_work() -> None:
    """A new request or job begins: its reads may go to replicas until it writes."""
    _wrote_in_unit.set(False)


def unit_has_written() -> bool:
    return _wrote_in_unit.get()


def is_write(clause: Any) -> bool:
    """Whether a statement must run on the primary because it writes (or locks) rows."""
    if clause is None:
        return False
    if isinstance(clause, UpdateBase):
        return True
    if isinstance(clause, Select):
        return clause._for_update_arg is not None
    if isinstance(clause, TextClause):
        # Raw SQL is trusted to read only when it says SELECT; anything else may write.
        return not clause.text.lstrip().lower().startswith("select")
    return False


class _Replica:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.down_until = 0.0
        self.problem = ""


class ReplicaSet:
    """The replica engines, taken in turn; one that fails is left out for ``retry_after`` s."""

    def __init__(self, engines: Sequence[Engine], retry_after: float = 5.0) -> None:
        self._replicas = [_Replica(engine) for engine in engines]
        self._turns = itertools.cycle(range(len(self._replicas))) if engines else None
        self._retry_after = retry_after
        self._lock = threading.Lock()
        for replica in self._replicas:
            event.listen(replica.engine, "handle_error", self._on_error(replica))

    def __bool__(self) -> bool:
        return bool(self._replicas)

    @property
    def engines(self) -> list[Engine]:
        return [replica.engine for replica in self._replicas]

    def pick(self) -> Engine | None:
        """The next replica able to serve reads, or None (read from the primary)."""
        if self._turns is None:
            return None
        for _ in range(len(self._replicas)):
            with self._lock:
                replica = self._replicas[next(self._turns)]
            if replica.down_until == 0.0 or self._back_up(replica):
                return replica.engine
        return None

    def problems(self) -> dict[str, str]:
        """The replicas left out now and why, by URL without password (for readiness details)."""
        now = time.monotonic()
        return {
            replica.engine.url.render_as_string(hide_password=True): replica.problem
            for replica in self._replicas
            if replica.down_until > now
        }

    def _back_up(self, replica: _Replica) -> bool:
        if time.monotonic() < replica.down_until:
            return False
        # One probe per retry period, not one per request: the others read from the primary.
        replica.down_until = time.monotonic() + self._retry_after
        try:
            with replica.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            self._mark_down(replica, error)
            return False
        replica.down_until = 0.0
        replica.problem = ""
        logger.info("read replica {} is back", replica.engine.url)
        return True

    def _mark_down(self, replica: _Replica, error: BaseException) -> None:
        first = replica.down_until == 0.0
        replica.down_until = time.monotonic() + self._retry_after
        replica.problem = type(error).__name__ + (f": {error}" if str(error) else "")
        if first:
            logger.warning(
                "read replica {} is down, reading from the primary: {}",
                replica.engine.url,
                replica.problem,
            )

    def _on_error(self, replica: _Replica) -> Any:
        def on_error(context: Any) -> None:
            # Only a lost or refused connection says the replica is down; a bad query does not.
            if context.is_disconnect or context.connection is None:
                self._mark_down(replica, context.original_exception)

        return on_error

    def dispose(self) -> None:
        for replica in self._replicas:
            replica.engine.dispose()


class RoutingSession(Session):
    """A session that reads from a replica and writes to the primary (see the module doc)."""

    def __init__(
        self, bind: Engine, *, replicas: ReplicaSet, use_primary: bool = False, **options: Any
    ) -> None:
        super().__init__(bind=bind, **options)
        self._primary = bind
        self._replicas = replicas
        self._replica: Engine | None = None
        self._on_primary = use_primary

    def get_bind(
        self, mapper: Any = None, *, clause: Any = None, bind: Any = None, **kw: Any
    ) -> Any:
        if bind is not None:
            return bind
        if self._flushing or is_write(clause):
            self._on_primary = True
            _wrote_in_unit.set(True)
        # No statement (``session.connection()``, a dialect lookup): the caller may write.
        if clause is None or self._on_primary or _wrote_in_unit.get():
            return self._primary
        if self._replica is None:
            self._replica = self._replicas.pick()
            if self._replica is None:
                return self._primary
        return self._replica
