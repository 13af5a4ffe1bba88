"""Fixtures for the web service's tests: the app on a migrated SQLite database and the
session's test vhost, people to act as, and the jobs queue of that vhost."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from web_helpers import Drain, JobsQueue, Person, register

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


@pytest.fixture
def make_person(app: Flask) -> Callable[..., Person]:
    return lambda name="Ada", email=None: register(app, name, email)


@pytest.fixture
def jobs(drain_queue: Drain) -> JobsQueue:
    return JobsQueue(drain_queue)
