"""Fixtures every service's tests share: ``pytest_plugins = ["loom_common.pytest_plugin"]``.

- ``broker_url``: a fresh RabbitMQ vhost for the test session (deleted after).
- ``drain_queue(name)``: the decoded messages waiting in a queue of that vhost.
- ``operator_headers``: the bearer token header that test settings accept.
- ``make_settings(service, **overrides)``: test settings with a temporary ``var/`` folder and
  that vhost, with the service's migrations applied to its SQLite database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pika
import pytest

from loom_common.migrations import upgrade
from loom_common.settings import DEFAULT_API_TOKEN, Settings, load_settings
from loom_common.testing import temporary_vhost


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    with temporary_vhost() as url:
        yield url


@pytest.fixture
def make_settings(tmp_path: Path, broker_url: str) -> Callable[..., Settings]:
    def build(service: str, migrate: bool = True, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "var_dir": tmp_path / "var",
            "broker_url": broker_url,
            "log_ship_interval": 0.2,
        }
        values.update(overrides)
        settings = load_settings(service, **values)
        if migrate:
            upgrade(service, settings.database_url(service))
        return settings

    return build


@pytest.fixture
def operator_headers() -> dict[str, str]:
    """The Authorization header with the operator token that test settings use."""
    return {"Authorization": f"Bearer {DEFAULT_API_TOKEN}"}


@pytest.fixture
def drain_queue(broker_url: str) -> Callable[[str], list[dict[str, Any]]]:
    """``drain_queue(name)``: every message waiting in that queue of the test vhost, taken off
    it and decoded as Dramatiq does."""

    def drain(queue: str) -> list[dict[str, Any]]:
        connection = pika.BlockingConnection(pika.URLParameters(broker_url))
        try:
            channel = connection.channel()
            channel.queue_declare(queue, passive=True)
            messages: list[dict[str, Any]] = []
            while True:
                _method, _properties, body = channel.basic_get(queue, auto_ack=True)
                if body is None:
                    return messages
                messages.append(dramatiq.get_encoder().decode(body))
        finally:
            connection.close()

    return drain
