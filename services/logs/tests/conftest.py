"""Fixtures for the logs service's tests: settings, app, client and a record factory."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import dramatiq
import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import select
from werkzeug.serving import make_server

from loom_common.contracts import LOGS_ACTOR, LOGS_QUEUE
from loom_common.db import Database
from loom_common.flask_app import app_database
from loom_common.settings import Settings
from loom_common.testing import wait_until
from loom_logs.app import create_app
from loom_logs.config import LogsConfig, load_logs_config
from loom_logs.ingest.gelf_server import GelfServer
from loom_logs.models import LogRow
from loom_logs.store.insert import store_records
from loom_logs.store.partitions import tables_between

pytest_plugins = ["loom_common.pytest_plugin"]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings("logs")


@pytest.fixture
def logs_config() -> LogsConfig:
    """The service's own settings; tests override fields with ``load_logs_config(...)``."""
    return load_logs_config(ingest_tokens="ingest-token-1,ingest-token-2")


@pytest.fixture
def app(settings: Settings, logs_config: LogsConfig) -> Iterator[Flask]:
    app = create_app(settings, logs_config)
    yield app
    app_database(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def database(app: Flask) -> Database:
    return app_database(app)


def _record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "time": datetime(2030, 1, 1, 12, 0, tzinfo=UTC).isoformat(),
        "level": "INFO",
        "message": "hello",
        "service": "web",
        "env": "test",
        "host": "test-host",
        "logger": "loom_web.api",
        "function": "hello",
        "line": 42,
        "process": 1234,
        "thread": "MainThread",
        "request_id": None,
        "exception": None,
        "fields": {},
    }
    record.update(overrides)
    return record


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    """Builds a valid record of the logs.ingest contract (loom_common.log_records.record_to_dict);
    keyword arguments replace its values."""
    return _record


@pytest.fixture
def auth(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.api_token.get_secret_value()}"}


@pytest.fixture
def store(database: Database) -> Callable[[list[Any]], None]:
    """Store records straight into the app's database (no broker)."""

    def put(records: list[Any]) -> None:
        with database.session() as session:
            store_records(session, records)

    return put


def all_stored(database: Database) -> list[LogRow]:
    """Every stored record, oldest first (by time, then id), whichever day holds it."""
    with database.session() as session:
        rows: list[LogRow] = []
        for table in reversed(tables_between(session)):
            rows.extend(session.execute(select(table).order_by(table.c.time, table.c.id)))
        return rows


@pytest.fixture
def stored(database: Database) -> Callable[[], list[LogRow]]:
    """``stored()``: every record in the app's database, oldest first."""
    return lambda: all_stored(database)


@pytest.fixture
def consumer(app: Flask) -> Iterator[ModuleType]:
    """The logs consumer running in this process, on the broker and database of ``settings``.

    ``app`` comes first: create_app(settings) points the process at the test broker, and the
    actors module then reuses those settings. It is imported afresh so that its actor and
    database belong to this test even if an earlier test imported it.
    """
    sys.modules.pop("loom_logs.actors", None)
    dramatiq.get_broker().actors.pop(LOGS_ACTOR, None)  # the previous test's, on this broker
    actors = importlib.import_module("loom_logs.actors")
    worker = dramatiq.Worker(dramatiq.get_broker(), queues={LOGS_QUEUE}, worker_threads=1)
    worker.start()
    yield actors
    worker.stop()
    actors.database.dispose()


@pytest.fixture
def published(drain_queue: Callable[[str], list[Any]]) -> Callable[[], list[dict[str, Any]]]:
    """``published()``: every record waiting in the logs queue of the test vhost, taken off it."""

    def records() -> list[dict[str, Any]]:
        return [
            record for message in drain_queue(LOGS_QUEUE) for record in message["kwargs"]["records"]
        ]

    return records


@pytest.fixture
def counter() -> Callable[..., float]:
    """``counter(name, **labels)``: the current value of a sample in this process's registry."""

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return value


@pytest.fixture
def found(client: FlaskClient, auth: dict[str, str]) -> Callable[..., list[dict[str, Any]]]:
    """``found(count, **params)``: the items of GET /api/logs once it returns ``count`` of them."""

    def search(count: int, timeout: float = 20, **params: Any) -> list[dict[str, Any]]:
        def probe() -> list[dict[str, Any]]:
            response = client.get("/api/logs", query_string=params, headers=auth)
            items: list[dict[str, Any]] = response.get_json()["items"]
            return items if len(items) == count else []

        return wait_until(probe, timeout=timeout, message=f"{count} records for {params}")

    return search


@pytest.fixture
def gelf_server(app: Flask) -> Iterator[GelfServer]:
    """The GELF UDP and TCP listeners on free ports, publishing to the test broker."""
    server = GelfServer(
        load_logs_config(gelf_host="127.0.0.1", gelf_port=0, gelf_chunk_timeout=0.5)
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http_port(app: Flask) -> Iterator[int]:
    """The app behind a real HTTP server, for clients that speak HTTP themselves."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()
