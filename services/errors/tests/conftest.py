"""Fixtures of the errors service's tests: settings, databases, and real Sentry events."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import dramatiq
import pytest
import sentry_sdk
from sentry_sdk.transport import Transport
from sqlalchemy import text

from loom_common.db import Database
from loom_common.migrations import upgrade
from loom_common.runtime import init_process
from loom_common.settings import Settings
from loom_common.testing import temporary_postgres_database

pytest_plugins = ["loom_common.pytest_plugin"]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # Quiet processes: nothing shipped to the logs queue, no capture of our own failures.
    return make_settings("errors", ship_logs=False, capture_errors=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the run, migrated once."""
    with temporary_postgres_database() as url:
        upgrade("errors", url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, settings: Settings) -> Iterator[str]:
    """A migrated, empty errors database: this test's SQLite file, then the run's PostgreSQL."""
    if request.param == "sqlite":
        yield settings.database_url("errors")
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    cleaner = Database(url)
    with cleaner.session() as session:
        session.execute(
            text(
                "TRUNCATE issues, events, issue_users, issue_minutes, issue_facets, alerts, rate_buckets,"
                " project_keys RESTART IDENTITY CASCADE"
            )
        )
        session.execute(text("DELETE FROM projects WHERE id <> 1"))
        session.execute(
            text(
                "UPDATE projects SET alert_recipients = '[]', alert_event_threshold = NULL,"
                " alert_threshold_minutes = NULL"
            )
        )
        session.execute(text("SELECT setval('projects_id_seq', 1)"))
    cleaner.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


class CollectingTransport(Transport):
    """Keeps the events sentry-sdk would have sent."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Any) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


class SentryEvents:
    """Builds events with the real sentry-sdk, as a Loom service would send them.

    The client is bound to a new scope for each capture, so the process-wide client
    (if any test set one up) is neither used nor disturbed.
    """

    def __init__(self) -> None:
        self.transport = CollectingTransport()
        self.client = sentry_sdk.Client(
            transport=self.transport,
            default_integrations=False,
            environment="test",
            release="1.0.0",
            server_name="web-host",
        )

    def _capture(
        self,
        capture: Callable[[], Any],
        tags: dict[str, str] | None,
        fingerprint: list[str] | None,
    ) -> dict[str, Any]:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(self.client)
            scope.set_tag("service", "web")
            for key, value in (tags or {}).items():
                scope.set_tag(key, value)
            if fingerprint is not None:
                scope.fingerprint = fingerprint
            capture()
        return copy.deepcopy(self.transport.events.pop())

    def exception(
        self,
        error: BaseException,
        *,
        tags: dict[str, str] | None = None,
        fingerprint: list[str] | None = None,
    ) -> dict[str, Any]:
        return self._capture(lambda: sentry_sdk.capture_exception(error), tags, fingerprint)

    def message(
        self,
        text: str,
        *,
        level: str = "error",
        tags: dict[str, str] | None = None,
        fingerprint: list[str] | None = None,
    ) -> dict[str, Any]:
        return self._capture(
            lambda: sentry_sdk.capture_message(text, level=level),  # type: ignore[arg-type]
            tags,
            fingerprint,
        )


@pytest.fixture
def sentry_events() -> SentryEvents:
    return SentryEvents()


@pytest.fixture
def actors(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """loom_errors.actors, storing into this test's database.

    The module is imported once per process (its actor stays declared on the process's
    broker); each test swaps in its own database.
    """
    init_process("errors", settings)  # before the import: the module's own call returns these
    module = importlib.import_module("loom_errors.actors")
    database = Database(settings.database_url("errors"))
    monkeypatch.setattr(module, "database", database)
    yield module
    database.dispose()


@pytest.fixture
def worker(actors: ModuleType) -> Iterator[dramatiq.Worker]:
    worker = dramatiq.Worker(actors.ingest_error_event.broker, worker_threads=1, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()
