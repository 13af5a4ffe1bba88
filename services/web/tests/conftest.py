"""Fixtures for the web service's tests: the app on a migrated SQLite database and the
session's test vhost, and a reader for the RabbitMQ queues it sends to."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.flask_app import app_database as database
from loom_common.settings import Settings
from loom_web.app import create_app

pytest_plugins = ["loom_common.pytest_plugin"]


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Iterator[Flask]:
    app = create_app(make_settings("web"))
    yield app
    database(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
