"""``flask --app loom_errors.app ...``: projects, keys and retention from a shell."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from loom_common.flask_app import current_config, current_database, current_settings
from loom_errors.config import ErrorsConfig
from loom_errors.issues.retention import enforce_retention
from loom_errors.models import Project
from loom_errors.projects.service import (
    ProjectNameTaken,
    create_key,
    create_project,
    default_project_key,
    dsn,
    revoke_key,
)

projects = AppGroup("projects", help="Projects and their DSNs.")
keys = AppGroup("keys", help="DSN keys.")
retention = AppGroup("retention", help="Dropping old events.")


@projects.command("create")
@click.argument("name")
def projects_create(name: str) -> None:
    """Create project NAME and print its DSN."""
    with current_database().session() as session:
        try:
            project = create_project(session, name)
        except ProjectNameTaken as error:
            raise click.ClickException(str(error)) from None
        click.echo(dsn(current_settings(), create_key(session, project.id)))


@projects.command("list")
def projects_list() -> None:
    """One line per project: id, name."""
    with current_database().session() as session:
        for project in session.scalars(select(Project).order_by(Project.id)):
            click.echo(f"{project.id}\t{project.name}")


@projects.command("dsn-default")
def projects_dsn_default() -> None:
    """Print the DSN of the default project ("loom"), making a key if it has none."""
    with current_database().session() as session:
        click.echo(dsn(current_settings(), default_project_key(session)))


@keys.command("create")
@click.argument("project_id", type=int)
def keys_create(project_id: int) -> None:
    """Make a key for PROJECT_ID and print its DSN."""
    with current_database().session() as session:
        if session.get(Project, project_id) is None:
            raise click.ClickException(f"no project with id {project_id}")
        click.echo(dsn(current_settings(), create_key(session, project_id)))


@keys.command("revoke")
@click.argument("key")
def keys_revoke(key: str) -> None:
    """Revoke KEY (its public key): events sent with it are refused from now on."""
    with current_database().session() as session:
        if revoke_key(session, key) is None:
            raise click.ClickException(f"no key {key!r}")
    click.echo(f"revoked {key}")


@retention.command("run")
def retention_run() -> None:
    """Delete events older than LOOM_ERRORS_RETENTION_DAYS, in batches (cron this daily)."""
    deleted = enforce_retention(current_database(), current_config(ErrorsConfig))
    click.echo(f"deleted {deleted.events} events and {deleted.issues} issues")


def init_app(app: Flask) -> None:
    for group in (projects, keys, retention):
        app.cli.add_command(group)
