"""A service's database: SQLAlchemy engines and a session factory, SQLite or PostgreSQL by URL.

With read replicas (``LOOM_<SERVICE>_DATABASE_REPLICA_URLS``) sessions route reads to them and
writes to the primary; see :mod:`loom_common.db_routing`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from loom_common.db_failover import watch_for_failover
from loom_common.db_routing import ReplicaSet, RoutingSession

if TYPE_CHECKING:
    from loom_common.settings import Settings


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the HTTP workers read while the consumer writes; busy_timeout waits for the lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Seconds libpq waits for one host of a multi-host URL before it tries the next: a dead
# primary in the list must cost a request little. libpq takes whole seconds, at least 2.
DEFAULT_CONNECT_TIMEOUT = 3


def create_db_engine(url: str, connect_timeout: int | None = None) -> Engine:
    """An engine for ``url``. PostgreSQL URLs may name several hosts, as libpq does:
    ``postgresql+psycopg://user:pw@/db?host=a,b&port=5432,5432&target_session_attrs=read-write``
    (or SQLAlchemy's ``host=a:5432&host=b:5432``); libpq tries them in turn and keeps the first
    that has the session type asked for. ``connect_timeout`` in the URL wins over the argument.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = connect_timeout or DEFAULT_CONNECT_TIMEOUT
    # pool_pre_ping: a pooled connection whose server died is noticed (and replaced) before a
    # unit of work uses it, rather than failing that unit.
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args
    )


class Database:
    """The primary engine (``engine``), the replicas' engines if any, and sessions over them."""

    def __init__(
        self, url: str, replica_urls: Sequence[str] = (), *, replica_retry_after: float = 5.0
    ) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        # After a failover the pool's connections are to a dead or read-only server: drop them
        # all at the first sign (see loom_common.db_failover).
        watch_for_failover(self.engine)
        # A replica that does not answer must not hold a request for long: reads fall back.
        self.replicas = ReplicaSet(
            [create_db_engine(u, connect_timeout=2) for u in replica_urls],
            retry_after=replica_retry_after,
        )
        if self.replicas:
            self.sessions: sessionmaker[Session] = sessionmaker(
                self.engine,
                class_=RoutingSession,
                replicas=self.replicas,
                expire_on_commit=False,
            )
        else:
            self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def for_service(cls, settings: Settings, service: str | None = None) -> Database:
        """The service's database with the read replicas its settings list."""
        name = service or settings.service
        if name is None:
            raise ValueError("Database.for_service needs a service name")
        return cls(settings.database_url(name), settings.database_replica_urls(name))

    @contextmanager
    def session(self, *, use_primary: bool = False) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back if it raises.

        ``use_primary``: read from the primary even before this request or job wrote (for a
        read that must not be stale, e.g. a check before a write elsewhere).
        """
        if use_primary and self.replicas:
            session = self.sessions(use_primary=True)
        else:
            session = self.sessions()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        else:
            # Not rolled back if it raises: the error may come from after-commit work (a
            # message the broker refused, see loom_common.after_commit) once the rows are
            # committed, when a rollback is refused; a commit that failed is undone by close().
            session.commit()
        finally:
            session.close()

    def ping(self) -> None:
        """Readiness: the primary answers (a replica down only moves its reads to the primary;
        see ``replica_problems``)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def replica_problems(self) -> dict[str, str]:
        """Replicas not taking reads now, by URL (password hidden), and why."""
        return self.replicas.problems()

    def dispose(self) -> None:
        self.engine.dispose()
        self.replicas.dispose()
