"""The projects page: projects with their DSNs, new projects and keys, revoking keys, and
who gets each project's alert emails."""

from __future__ import annotations

import re

import orjson
from flask import Blueprint, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from loom_common.flask_app import current_database, current_settings
from loom_common.operator_ui import page
from loom_errors.models import Project
from loom_errors.pages.refusals import count_refusal, refuse
from loom_errors.projects.serialisers import key_out, project_out
from loom_errors.projects.service import ProjectNameTaken, create_key, create_project, revoke_key
from loom_errors.projects.service import project_keys as keys_of
from loom_errors.schemas import AlertSettingsIn, ProjectIn

project_pages = Blueprint("project_pages", __name__)

# Recipients may be typed one a line or separated by commas or spaces.
_RECIPIENT_SEPARATORS = re.compile(r"[\s,;]+")


def _problems(error: ValidationError) -> dict[str, str]:
    return {
        ".".join(str(part) for part in problem["loc"]) or "form": problem["msg"]
        for problem in error.errors()
    }


def _projects_page(problems: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    settings = current_settings()
    with current_database().session() as session:
        projects = [
            (project_out(project), [key_out(key, settings) for key in keys_of(session, project.id)])
            for project in session.scalars(select(Project).order_by(Project.id))
        ]
    html = render_template(
        "errors/projects.html", projects=projects, problems=problems or {}, form=request.form
    )
    return html, status


def _refused_form(reason: str, problems: dict[str, str], status: int) -> tuple[str, int]:
    count_refusal(reason)
    return _projects_page(problems, status)


@project_pages.get("/projects")
@page
def projects() -> tuple[str, int]:
    return _projects_page()


@project_pages.post("/projects")
@page
def new_project() -> BaseResponse | tuple[str, int]:
    """A project and its first key, so its DSN is on the page at once."""
    try:
        wanted = ProjectIn(name=request.form.get("name", "").strip())
    except ValidationError as error:
        return _refused_form("invalid_project", _problems(error), 422)
    with current_database().session() as session:
        try:
            project = create_project(session, wanted.name)
        except ProjectNameTaken as error:
            return _refused_form("project_name_taken", {"name": str(error)}, 409)
        create_key(session, project.id)
        project_id = project.id
    flash(f"Project {wanted.name} created, with its DSN below.", "info")
    return redirect(url_for(".projects", _anchor=f"project-{project_id}"), code=303)


@project_pages.post("/projects/<int:project_id>/keys")
@page
def new_key(project_id: int) -> BaseResponse | tuple[str, int]:
    with current_database().session() as session:
        if session.get(Project, project_id) is None:
            return refuse("not_found", 404, f"There is no project {project_id}.")
        create_key(session, project_id)
    flash("A new DSN was made.", "info")
    return redirect(url_for(".projects", _anchor=f"project-{project_id}"), code=303)


@project_pages.post("/keys/<public_key>/revoke")
@page
def revoke(public_key: str) -> BaseResponse | tuple[str, int]:
    """Events sent with the key are refused (403) from now on."""
    with current_database().session() as session:
        key = revoke_key(session, public_key)
        if key is None:
            return refuse("not_found", 404, f"There is no key {public_key[:40]!r}.")
        project_id = key.project_id
    flash("The DSN was revoked: events sent with it are refused from now on.", "info")
    return redirect(url_for(".projects", _anchor=f"project-{project_id}"), code=303)


@project_pages.post("/projects/<int:project_id>/alerts")
@page
def alert_settings(project_id: int) -> BaseResponse | tuple[str, int]:
    """Recipients, and the "more than N events in M minutes" rule (both blank: off)."""
    typed = request.form.get("recipients", "")
    recipients = [address for address in _RECIPIENT_SEPARATORS.split(typed) if address]
    try:
        wanted = AlertSettingsIn.model_validate(
            {
                "recipients": recipients,
                "event_threshold": request.form.get("event_threshold", "").strip() or None,
                "threshold_minutes": request.form.get("threshold_minutes", "").strip() or None,
            }
        )
    except ValidationError as error:
        problems = _problems(error)
        for index, address in enumerate(recipients):
            if f"recipients.{index}" in problems:
                problems[f"recipients.{index}"] = f"{address[:60]!r} is not an email address"
        return _refused_form("invalid_alerts", problems, 422)
    if (wanted.event_threshold is None) != (wanted.threshold_minutes is None):
        problem = "set both the number of events and the minutes, or neither"
        return _refused_form("invalid_alerts", {"threshold_minutes": problem}, 422)
    with current_database().session() as session:
        project = session.get(Project, project_id)
        if project is None:
            return refuse("not_found", 404, f"There is no project {project_id}.")
        project.alert_recipients = orjson.dumps(sorted(set(wanted.recipients))).decode()
        project.alert_event_threshold = wanted.event_threshold
        project.alert_threshold_minutes = wanted.threshold_minutes
    flash("Alert settings saved.", "info")
    return redirect(url_for(".projects", _anchor=f"project-{project_id}"), code=303)
