"""Projects and their DSN keys: what the API and the CLI both call."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from loom_common.settings import Settings
from loom_errors.models import DEFAULT_PROJECT_ID, Project, ProjectKey, utcnow

DEFAULT_PROJECT_NAME = "loom"


class ProjectNameTaken(ValueError):
    pass


def dsn(settings: Settings, key: ProjectKey) -> str:
    """``http://<public_key>@<host>:<port>/<project_id>``, from where the errors service is served."""
    base = urlsplit(settings.service_url("errors"))
    return f"{base.scheme}://{key.public_key}@{base.netloc}{base.path}/{key.project_id}"


def create_project(session: Session, name: str) -> Project:
    if session.scalar(select(Project).where(Project.name == name)) is not None:
        raise ProjectNameTaken(f"a project named {name!r} exists already")
    project = Project(name=name, alert_recipients="[]")
    session.add(project)
    session.flush()
    return project


def create_key(session: Session, project_id: int) -> ProjectKey:
    key = ProjectKey(project_id=project_id, public_key=secrets.token_hex(16))
    session.add(key)
    session.flush()
    return key


def revoke_key(session: Session, public_key: str) -> ProjectKey | None:
    """The key, revoked (once: a second revocation keeps the first time); None if unknown."""
    key = session.scalar(select(ProjectKey).where(ProjectKey.public_key == public_key))
    if key is not None and key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def project_keys(session: Session, project_id: int) -> list[ProjectKey]:
    statement = select(ProjectKey).where(ProjectKey.project_id == project_id)
    return list(session.scalars(statement.order_by(ProjectKey.id)))


def ensure_default_project(session: Session) -> Project:
    """Project 1 ("loom") exists: migration 0002 makes it; this repairs a deleted one."""
    project = session.get(Project, DEFAULT_PROJECT_ID)
    if project is None:
        project = Project(id=DEFAULT_PROJECT_ID, name=DEFAULT_PROJECT_NAME, alert_recipients="[]")
        session.add(project)
        session.flush()
    return project


def default_project_key(session: Session) -> ProjectKey:
    """An active key of the default project, made if it has none (``make up`` prints its DSN)."""
    ensure_default_project(session)
    for key in project_keys(session, DEFAULT_PROJECT_ID):
        if key.revoked_at is None:
            return key
    return create_key(session, DEFAULT_PROJECT_ID)
