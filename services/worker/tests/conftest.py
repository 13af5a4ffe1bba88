from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask

from loom_common.migrations import upgrade
from loom_common.settings import load_settings

pytest_plugins = ["loom_common.pytest_plugin"]


@pytest.fixture(scope="session")
def actors(broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The actors module, imported once against the test vhost and a migrated database
    (dramatiq binds actors to the broker that exists when the module is imported)."""
    var_dir: Path = tmp_path_factory.mktemp("worker-var")
    environment = {
        "LOOM_ENV": "test",
        "LOOM_BROKER_URL": broker_url,
        "LOOM_VAR_DIR": str(var_dir),
        "LOOM_LOG_SHIP_INTERVAL": "0.2",
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
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
