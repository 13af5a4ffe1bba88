"""Fixtures for the web service's tests: the app on a migrated SQLite database and the
session's test vhost, people to act as, and the jobs queue of that vhost."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator

import pika
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from web_helpers import REDIS_URL, Drain, JobsQueue, Person, register

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
def jobs(app: Flask, drain_queue: Drain) -> JobsQueue:
    """The jobs this test sends: what earlier tests of the session left in the queue (with the
    same project ids, each test having a fresh database) is drained first."""
    # Before the session's first message the queue may not be declared yet: nothing to drain.
    with contextlib.suppress(pika.exceptions.ChannelClosedByBroker):
        drain_queue("jobs")
    return JobsQueue(drain_queue)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the machine's Redis (its keys deleted after)."""
    prefix = f"loom-web-test-{secrets.token_hex(4)}:"
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(f"{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()
