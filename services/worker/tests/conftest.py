from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import dramatiq
import pytest
from flask import Flask
from peers import WebPeer

from loom_common.contracts import JOBS_QUEUE
from loom_common.mail.sink import SmtpSink
from loom_common.migrations import upgrade
from loom_common.settings import load_settings
from loom_common.testing import free_port

pytest_plugins = ["loom_common.pytest_plugin"]


@pytest.fixture(scope="session")
def web_peer() -> Iterator[WebPeer]:
    """A stand-in for the web app's API, for the whole session (the actors read its URL once)."""
    peer = WebPeer(free_port())
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def smtp_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def worker_environment(
    broker_url: str, tmp_path_factory: pytest.TempPathFactory, web_peer: WebPeer, smtp_port: int
) -> dict[str, str]:
    """The environment of the worker under test, in this process and in worker subprocesses."""
    var_dir: Path = tmp_path_factory.mktemp("worker-var")
    return {
        "LOOM_ENV": "test",
        "LOOM_BROKER_URL": broker_url,
        "LOOM_VAR_DIR": str(var_dir),
        "LOOM_LOG_SHIP_INTERVAL": "0.2",
        "LOOM_WEB_URL": f"http://127.0.0.1:{web_peer.server.server_port}",
        "LOOM_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
    }


@pytest.fixture(scope="session")
def actors(worker_environment: dict[str, str]) -> Iterator[ModuleType]:
    """The actors module, imported once against the test vhost and a migrated database
    (dramatiq binds actors to the broker that exists when the module is imported)."""
    saved = {name: os.environ.get(name) for name in worker_environment}
    os.environ.update(worker_environment)
    upgrade("worker", load_settings("worker").database_url("worker"))
    yield importlib.import_module("loom_worker.actors")
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def app(actors: ModuleType) -> Flask:
    from loom_worker.app import create_app

    return create_app(actors.settings)


@pytest.fixture
def web(web_peer: WebPeer) -> Iterator[WebPeer]:
    web_peer.state.reset()
    yield web_peer
    web_peer.state.hold_pages.clear()


@pytest.fixture
def smtp(smtp_port: int) -> Iterator[SmtpSink]:
    sink = SmtpSink(smtp_port)
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def worker(actors: ModuleType) -> Iterator[dramatiq.Worker]:
    """A worker in this process (2 threads) on the jobs queue, for the duration of one test."""
    running = dramatiq.Worker(dramatiq.get_broker(), queues={JOBS_QUEUE}, worker_threads=2)
    running.start()
    yield running
    running.stop()
