"""Fixtures for the logs service's tests: settings, app, client and a record factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.db import Database
from loom_common.flask_app import app_database
from loom_common.settings import Settings
from loom_logs.app import create_app
from loom_logs.store import store_records

pytest_plugins = ["loom_common.pytest_plugin"]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings("logs")


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
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
