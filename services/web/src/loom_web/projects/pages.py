"""Pages for the product: projects, the project page with its tasks, a task, exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response

from loom_common.api_errors import ApiError
from loom_common.flask_app import current_database
from loom_web.forms import ActionForm
from loom_web.models import Export
from loom_web.projects import queries, rules, services
from loom_web.projects.exports import (
    ExportUnavailable,
    job_status,
    open_export_file,
)
from loom_web.projects.forms import InviteForm, ProjectForm, TaskForm, task_form
from loom_web.projects.links import task_url
from loom_web.projects.page_body import project_body
from loom_web.projects.queries import TaskFilters
from loom_web.projects.snapshots import ProjectView

project_pages = Blueprint("project_pages", __name__)

Page = str | Response | tuple[str, int]
PAGE_SIZE = 50


@project_pages.before_request
@login_required
def _members_only() -> None:
    """Every product page needs a logged-in person."""


def _visible(project_id: int) -> ProjectView:
    return services.visible_project(project_id, current_user.id)


def _task_form(project: ProjectView, **kwargs: Any) -> TaskForm:
    return task_form(project.members, **kwargs)


def _task_fields(form: TaskForm) -> dict[str, Any]:
    due = form.due_date.data
    return {
        "title": form.title.data,
        "description": form.description.data or "",
        "status": form.status.data,
        "assignee_id": form.assignee_id.data or None,
        "due_date": due.replace(tzinfo=UTC) if due else None,
    }


def _date_filter(name: str) -> datetime | None:
    value = request.args.get(name) or None
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        abort(400, description=f"{name}: expected a date like 2026-12-31")


def _filters() -> TaskFilters:
    status = request.args.get("status") or None
    if status not in (None, "open", "in_progress", "done"):
        abort(400, description="status: expected open, in_progress or done")
    assignee = request.args.get("assignee_id", type=int) or None
    return TaskFilters(
        status=status,
        assignee_id=assignee,
        due_before=_date_filter("due_before"),
        due_after=_date_filter("due_after"),
    )


@project_pages.route("/projects", methods=["GET", "POST"])
def projects() -> Page:
    form = ProjectForm()
    if form.validate_on_submit():
        with current_database().session() as session:
            project = services.create_project(
                session, current_user.id, form.name.data, form.description.data or ""
            )
        return redirect(url_for("project_pages.project", project_id=project.id))
    with current_database().session() as session:
        mine = services.projects_of(session, current_user.id)
    return render_template("projects.html", projects=mine, form=form), 422 if form.errors else 200


@project_pages.get("/projects/<int:project_id>")
def project(project_id: int) -> Page:
    shown = _visible(project_id)
    filters = _filters()
    cursor = request.args.get("cursor") or None
    owner = rules.is_owner(shown, current_user.id)
    try:
        body = project_body(shown, filters, cursor, owner, PAGE_SIZE)
    except ApiError as error:  # a cursor that is not ours
        abort(400, description=error.message)
    csrf_token = generate_csrf()
    exports_card = Markup()
    if owner:
        exports = [(e, job_status(e.job_id)) for e in services.recent_exports(project_id, 3)]
        exports_card = Markup(
            render_template(
                "_project_exports.html", project=shown, exports=exports, csrf=csrf_token
            )
        )
    return render_template("project.html", project=shown, body=body.fill(csrf_token, exports_card))


@project_pages.post("/projects/<int:project_id>/members")
def invite(project_id: int) -> Page:
    shown = _visible(project_id)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            with current_database().session() as session:
                member = services.invite_member(
                    session, shown, current_user.id, form.email.data, form.role.data
                )
                flash(f"{member.name} is now a member.")
        except rules.ProductError as error:
            flash(error.message, "error")
    else:
        flash("; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items()), "error")
    return redirect(url_for("project_pages.project", project_id=project_id))


@project_pages.post("/projects/<int:project_id>/tasks")
def create_task(project_id: int) -> Page:
    shown = _visible(project_id)
    form = _task_form(shown)
    if form.validate_on_submit():
        with current_database().session() as session:
            services.create_task(session, shown, current_user.id, _task_fields(form), task_url)
        flash("Task added.")
    else:
        flash("; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items()), "error")
    return redirect(url_for("project_pages.project", project_id=project_id))


@project_pages.route("/projects/<int:project_id>/tasks/<int:task_id>", methods=["GET", "POST"])
def task(project_id: int, task_id: int) -> Page:
    with current_database().session() as session:
        found, shown = services.task_in(session, task_id, current_user.id)
        if found.project_id != project_id:
            abort(404)
        form = _task_form(shown, obj=found)
        if request.method == "GET":
            form.assignee_id.data = found.assignee_id or 0
            if found.due_date:
                form.due_date.data = found.due_date.replace(tzinfo=None)
        if form.validate_on_submit():
            services.update_task(
                session, found, shown, current_user.id, _task_fields(form), task_url
            )
            flash("Task saved.")
            return redirect(url_for("project_pages.project", project_id=project_id))
        view = queries.task_dict(found)
    status = 422 if form.errors else 200
    return render_template("task.html", project=shown, task=view, form=form), status


@project_pages.post("/projects/<int:project_id>/tasks/<int:task_id>/complete")
def complete_task(project_id: int, task_id: int) -> Response:
    ActionForm().validate_on_submit()
    with current_database().session() as session:
        found, shown = services.task_in(session, task_id, current_user.id)
        services.update_task(session, found, shown, current_user.id, {"status": "done"}, task_url)
    return redirect(url_for("project_pages.project", project_id=project_id))


@project_pages.post("/projects/<int:project_id>/tasks/<int:task_id>/delete")
def delete_task(project_id: int, task_id: int) -> Response:
    with current_database().session() as session:
        found, _ = services.task_in(session, task_id, current_user.id)
        services.delete_task(session, found)
    flash("Task deleted.")
    return redirect(url_for("project_pages.project", project_id=project_id))


@project_pages.post("/projects/<int:project_id>/exports")
def export(project_id: int) -> Response:
    rules.check_owner(_visible(project_id), current_user.id, "export it")
    with current_database().session() as session:
        services.request_export(session, project_id, current_user.id)
    flash("Export requested: its progress shows below.")
    return redirect(url_for("project_pages.project", project_id=project_id))


@project_pages.get("/projects/<int:project_id>/exports/<int:export_id>/download")
def download_export(project_id: int, export_id: int) -> Response:
    rules.check_owner(_visible(project_id), current_user.id, "download its exports")
    with current_database().session() as session:
        found = session.get(Export, export_id)
        if found is None or found.project_id != project_id:
            abort(404)
        job_id = found.job_id
    try:
        chunks, headers = open_export_file(job_id)
    except ExportUnavailable as error:
        abort(409, description=str(error))
    return Response(chunks, headers=headers, direct_passthrough=True)
