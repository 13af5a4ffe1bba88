"""The JSON API of projects, their DSN keys and their alert settings (operator token)."""

from __future__ import annotations

import orjson
from flask import Blueprint
from spectree import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from loom_common.api_errors import ApiError
from loom_common.flask_app import current_database, current_settings
from loom_errors.extensions import spec
from loom_errors.models import Project
from loom_errors.projects.serialisers import key_out, project_out
from loom_errors.projects.service import (
    ProjectNameTaken,
    create_key,
    create_project,
    revoke_key,
)
from loom_errors.projects.service import project_keys as keys_of
from loom_errors.schemas import AlertSettingsIn, KeyOut, KeyPage, ProjectIn, ProjectOut, ProjectPage

projects_api = Blueprint("projects_api", __name__, url_prefix="/api")


def _project(session: Session, project_id: int) -> Project:
    found = session.get(Project, project_id)
    if found is None:
        raise ApiError(404, f"no project with id {project_id}")
    return found


@projects_api.get("/projects")
@spec.validate(resp=Response(HTTP_200=ProjectPage), tags=["projects"])
def projects() -> ProjectPage:
    """Every project (there are few), oldest first."""
    with current_database().session() as session:
        found = session.scalars(select(Project).order_by(Project.id))
        return ProjectPage(items=[project_out(project) for project in found])


@projects_api.post("/projects")
@spec.validate(json=ProjectIn, resp=Response(HTTP_201=ProjectOut), tags=["projects"])
def new_project(json: ProjectIn) -> tuple[ProjectOut, int]:
    """Create a project (make a key next to get its DSN)."""
    with current_database().session() as session:
        try:
            project = create_project(session, json.name)
        except ProjectNameTaken as error:
            raise ApiError(409, str(error)) from None
        return project_out(project), 201


@projects_api.get("/projects/<int:project_id>")
@spec.validate(resp=Response(HTTP_200=ProjectOut), tags=["projects"])
def project(project_id: int) -> ProjectOut:
    with current_database().session() as session:
        return project_out(_project(session, project_id))


@projects_api.put("/projects/<int:project_id>/alerts")
@spec.validate(json=AlertSettingsIn, resp=Response(HTTP_200=ProjectOut), tags=["projects"])
def project_alerts(project_id: int, json: AlertSettingsIn) -> ProjectOut:
    """Set the alert recipients and the "more than N events in M minutes" rule."""
    if (json.event_threshold is None) != (json.threshold_minutes is None):
        raise ApiError(
            422,
            "event_threshold and threshold_minutes go together: set both or neither",
            fields={"threshold_minutes": "set with event_threshold"},
        )
    with current_database().session() as session:
        found = _project(session, project_id)
        found.alert_recipients = orjson.dumps(sorted(set(json.recipients))).decode()
        found.alert_event_threshold = json.event_threshold
        found.alert_threshold_minutes = json.threshold_minutes
        return project_out(found)


@projects_api.get("/projects/<int:project_id>/keys")
@spec.validate(resp=Response(HTTP_200=KeyPage), tags=["projects"])
def project_keys(project_id: int) -> KeyPage:
    """The project's DSN keys, revoked ones included (with revoked_at)."""
    with current_database().session() as session:
        _project(session, project_id)
        return KeyPage(
            items=[key_out(key, current_settings()) for key in keys_of(session, project_id)]
        )


@projects_api.post("/projects/<int:project_id>/keys")
@spec.validate(resp=Response(HTTP_201=KeyOut), tags=["projects"])
def new_key(project_id: int) -> tuple[KeyOut, int]:
    """A new DSN key; the answer holds the DSN to configure sentry-sdk with."""
    with current_database().session() as session:
        _project(session, project_id)
        return key_out(create_key(session, project_id), current_settings()), 201


@projects_api.delete("/keys/<public_key>")
@spec.validate(resp=Response(HTTP_200=KeyOut), tags=["projects"])
def revoke(public_key: str) -> KeyOut:
    """Revoke a key: events sent with it are refused with 403 from now on."""
    with current_database().session() as session:
        key = revoke_key(session, public_key)
        if key is None:
            raise ApiError(404, f"no key {public_key[:40]!r}")
        return key_out(key, current_settings())
