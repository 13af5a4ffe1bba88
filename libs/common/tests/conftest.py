"""Fixtures for loom_common's own tests: a real broker on the session's test vhost, loguru
capture, and small helpers to read RabbitMQ queues."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, request
from loguru import logger
from pydantic import BaseModel, Field

from loom_common import flask_app
from loom_common.broker import LoomRabbitmqBroker, setup_broker
from loom_common.cursors import decode_cursor
from loom_common.openapi import make_spec
from loom_common.settings import Settings
from loom_common.testing import temporary_vhost

pytest_plugins = ["loom_common.pytest_plugin"]


@pytest.fixture
def broker(make_settings: Callable[..., Settings]) -> Iterator[LoomRabbitmqBroker]:
    """Dramatiq's global broker, on the session's fresh vhost."""
    rabbit = setup_broker(make_settings("web", migrate=False))
    yield rabbit
    rabbit.close()


@pytest.fixture
def log_records() -> Iterator[list[dict[str, Any]]]:
    """Every loguru record emitted during the test (the record dicts themselves)."""
    records: list[dict[str, Any]] = []
    handler_id = logger.add(lambda message: records.append(message.record), level="TRACE")
    yield records
    logger.remove(handler_id)


class ThingIn(BaseModel):
    name: str = Field(min_length=1, max_length=20)


class ThingsQuery(BaseModel):
    limit: int = Field(default=10, ge=1, le=100)


@pytest.fixture
def build_app() -> Callable[[Settings], Flask]:
    """A small Flask app with everything ``loom_common.flask_app.init_app`` gives."""

    def build(settings: Settings) -> Flask:
        spec = make_spec(settings.service or "probe")
        app = Flask("probe")

        @app.get("/")
        def home() -> str:
            return "<!doctype html><title>probe</title><h1>home</h1>"

        @app.get("/api/things")
        @spec.validate(query=ThingsQuery, tags=["probe"])
        def list_things(query: ThingsQuery) -> dict[str, Any]:
            return {"items": [], "limit": query.limit}

        @app.post("/api/things")
        @spec.validate(json=ThingIn, tags=["probe"])
        def add_thing(json: ThingIn) -> tuple[dict[str, Any], int]:
            return {"name": json.name}, 201

        @app.get("/api/pages")
        def pages() -> dict[str, Any]:
            position = decode_cursor("pages", request.args.get("cursor", ""), object, object)
            return {"position": position}

        flask_app.init_app(app, settings, spec=spec)
        return app

    return build


@pytest.fixture
def private_broker_url() -> Iterator[str]:
    """A RabbitMQ vhost for one test alone (a module that changes queue types asks for it)."""
    with temporary_vhost() as url:
        yield url
