"""Every service's migrations go all the way up and all the way down, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from loom_common.db import create_db_engine
from loom_common.migrations import downgrade, upgrade
from loom_common.testing import temporary_postgres_database

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICES_WITH_MIGRATIONS = sorted(
    path.parents[2].name
    for path in REPO_ROOT.glob("services/*/migrations/versions/*.py")
    if path.name != "__init__.py"
)
SERVICES = sorted(set(SERVICES_WITH_MIGRATIONS))


def _model_tables(service: str) -> set[str]:
    models = importlib.import_module(f"loom_{service}.models")
    return set(models.Base.metadata.tables)


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _alembic_revision(url: str) -> list[str]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return [
                row[0]
                for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            ]
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with temporary_postgres_database() as url:
        yield url


def test_every_service_has_migrations_to_check() -> None:
    assert {"web", "worker", "errors", "logs"} <= set(SERVICES)


def _up_and_down(service: str, url: str) -> None:
    expected = _model_tables(service)
    assert expected, f"{service} declares no tables"

    upgrade(service, url)
    assert expected <= _tables(url)
    assert len(_alembic_revision(url)) == 1

    upgrade(service, url)  # already at head: nothing to do, nothing breaks
    assert expected <= _tables(url)

    downgrade(service, url)
    assert _tables(url) - {"alembic_version"} == set()
    assert _alembic_revision(url) == []

    upgrade(service, url)  # and back up again from nothing
    assert expected <= _tables(url)
    downgrade(service, url)


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_up_and_down_on_sqlite(service: str, sqlite_url: str) -> None:
    _up_and_down(service, sqlite_url)


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_up_and_down_on_postgresql(service: str, postgres_url: str) -> None:
    _up_and_down(service, postgres_url)
