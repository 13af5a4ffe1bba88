"""How a project and a DSN key are shown: the API's response models, which the projects page
renders too (so neither layer imports the other)."""

from __future__ import annotations

import orjson

from loom_common.settings import Settings
from loom_errors.models import Project, ProjectKey, as_utc
from loom_errors.projects.service import dsn
from loom_errors.schemas import KeyOut, ProjectOut


def project_out(project: Project) -> ProjectOut:
    return ProjectOut(
        id=project.id,
        name=project.name,
        created_at=as_utc(project.created_at),
        alert_recipients=orjson.loads(project.alert_recipients),
        alert_event_threshold=project.alert_event_threshold,
        alert_threshold_minutes=project.alert_threshold_minutes,
    )


def key_out(key: ProjectKey, settings: Settings) -> KeyOut:
    """The key with its DSN, which names this service's public URL from ``settings``."""
    return KeyOut(
        public_key=key.public_key,
        project_id=key.project_id,
        dsn=dsn(settings, key),
        created_at=as_utc(key.created_at),
        revoked_at=as_utc(key.revoked_at) if key.revoked_at else None,
    )
