"""Alembic, the same for every service: ``loom-migrate web worker ...`` upgrades them.

Each service keeps its revisions in ``services/<name>/migrations`` (shipped inside its wheel
as ``loom_<name>/migrations``); its ``env.py`` calls :func:`run_migrations`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from loom_common.db import create_db_engine
from loom_common.settings import SERVICES, load_settings


def migrations_dir(service: str) -> Path:
    package = importlib.import_module(f"loom_{service}")
    package_dir = Path(package.__file__ or "").parent
    shipped = package_dir / "migrations"  # inside an installed wheel
    if shipped.is_dir():
        return shipped
    return package_dir.parents[1] / "migrations"  # in the source tree


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir(service)))
    config.attributes["database_url"] = database_url
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def downgrade(service: str, database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(service, database_url), revision)


def run_migrations(metadata: MetaData, exclude_tables: frozenset[str] = frozenset()) -> None:
    """The body of every service's ``env.py``.

    ``exclude_tables`` are left alone by autogenerate (tables made by hand in a revision,
    such as SQLite FTS5 shadow tables, that the models do not describe).
    """

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return not (
            type_ == "table"
            and name is not None
            and any(name == table or name.startswith(table + "_") for table in exclude_tables)
        )

    url = context.config.attributes["database_url"]
    engine = create_db_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="loom-migrate",
        description="Upgrade (by default), downgrade or show the schema of one or more services.",
    )
    parser.add_argument("services", nargs="+", choices=SERVICES, metavar="SERVICE")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--downgrade", metavar="REVISION", help="e.g. -1 or base")
    action.add_argument("--current", action="store_true", help="print the current revision")
    parser.add_argument("--to", default="head", metavar="REVISION", help="upgrade target")
    args = parser.parse_args(argv)
    for service in args.services:  # one process for all: imports cost more than migrations
        url = load_settings(service).database_url(service)
        if args.current:
            command.current(alembic_config(service, url))
        elif args.downgrade:
            downgrade(service, url, args.downgrade)
        else:
            upgrade(service, url, args.to)
        print(f"loom-migrate: {service} done", file=sys.stderr)
