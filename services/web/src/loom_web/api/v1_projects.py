"""``/api/v1`` for the product: projects, members, tasks and exports."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask import Response as FlaskResponse
from spectree import Response

from loom_common.flask_app import current_database
from loom_web.api.callers import caller_user, require_user
from loom_web.api.schemas import (
    ExportQueued,
    MemberIn,
    MemberOut,
    ProjectIn,
    ProjectList,
    ProjectOut,
    TaskIn,
    TaskList,
    TaskOut,
    TaskPatch,
    TaskQuery,
)
from loom_web.extensions import spec
from loom_web.projects import queries, rules, services
from loom_web.projects.cache import read_through, task_page_variant
from loom_web.projects.links import task_url
from loom_web.projects.queries import TaskFilters
from loom_web.projects.snapshots import ProjectView

api_projects = Blueprint("api_v1_projects", __name__, url_prefix="/api/v1")


def _visible(project_id: int) -> ProjectView:
    user = caller_user()
    return services.visible_project(project_id, user.id if user else None)


def _project_out(project: ProjectView) -> ProjectOut:
    return ProjectOut.model_validate(project, from_attributes=True)


@api_projects.get("/projects")
@spec.validate(resp=Response(HTTP_200=ProjectList), tags=["projects"])
def list_projects() -> ProjectList:
    """The projects you are a member of (the operator: every project)."""
    user = caller_user()
    projects = services.visible_projects(user.id if user else None)
    return ProjectList(items=[_project_out(project) for project in projects])


@api_projects.post("/projects")
@spec.validate(json=ProjectIn, resp=Response(HTTP_201=ProjectOut), tags=["projects"])
def create_project(json: ProjectIn) -> tuple[ProjectOut, int]:
    """Create a project; you are its owner."""
    user = require_user()
    with current_database().session() as session:
        project = services.create_project(session, user.id, json.name, json.description)
    return _project_out(services.visible_project(project.id, user.id)), 201


@api_projects.get("/projects/<int:project_id>")
@spec.validate(resp=Response(HTTP_200=ProjectOut), tags=["projects"])
def get_project(project_id: int) -> ProjectOut:
    """One project and its members (404 unless you are a member)."""
    return _project_out(_visible(project_id))


@api_projects.post("/projects/<int:project_id>/members")
@spec.validate(json=MemberIn, resp=Response(HTTP_201=MemberOut), tags=["projects"])
def invite_member(project_id: int, json: MemberIn) -> tuple[MemberOut, int]:
    """Add an existing user to the project by email (the owner only)."""
    user = require_user()
    project = _visible(project_id)
    with current_database().session() as session:
        member = services.invite_member(session, project, user.id, json.email, json.role)
        answer = MemberOut(id=member.id, name=member.name, email=member.email, role=json.role)
    return answer, 201


@api_projects.get("/projects/<int:project_id>/tasks")
@spec.validate(query=TaskQuery, resp=Response(HTTP_200=TaskList), tags=["tasks"])
def list_tasks(project_id: int, query: TaskQuery) -> FlaskResponse:
    """The project's tasks in creation order, filtered; ``next_cursor`` fetches the next page."""
    _visible(project_id)
    filters = TaskFilters(
        status=query.status,
        assignee_id=query.assignee_id,
        due_before=query.due_before,
        due_after=query.due_after,
    )

    def serialize() -> bytes:
        page = services.task_page(project_id, filters, query.limit, query.cursor)
        return TaskList.model_validate(page).model_dump_json().encode()

    # The JSON itself is cached: building and serialising 50 tasks costs more than the rest
    # of the request. Every write to the project moves it to a new version (projects.cache).
    variant = task_page_variant(filters, query.limit, query.cursor)
    body = read_through("tasks", project_id, f"json:{variant}", serialize)
    return current_app.response_class(body, mimetype="application/json")


@api_projects.post("/projects/<int:project_id>/tasks")
@spec.validate(json=TaskIn, resp=Response(HTTP_201=TaskOut), tags=["tasks"])
def create_task(project_id: int, json: TaskIn) -> tuple[TaskOut, int]:
    """Create a task; an assignee other than you gets an email."""
    user = require_user()
    project = _visible(project_id)
    with current_database().session() as session:
        task = services.create_task(session, project, user.id, json.model_dump(), task_url)
        answer = TaskOut.model_validate(queries.task_dict(task))
    return answer, 201


@api_projects.get("/tasks/<int:task_id>")
@spec.validate(resp=Response(HTTP_200=TaskOut), tags=["tasks"])
def get_task(task_id: int) -> TaskOut:
    """One task (404 unless you are a member of its project)."""
    user = caller_user()
    with current_database().session() as session:
        task, _ = services.task_in(session, task_id, user.id if user else None)
        return TaskOut.model_validate(queries.task_dict(task))


@api_projects.patch("/tasks/<int:task_id>")
@spec.validate(json=TaskPatch, resp=Response(HTTP_200=TaskOut), tags=["tasks"])
def update_task(task_id: int, json: TaskPatch) -> TaskOut:
    """Edit, assign (``assignee_id``; null unassigns) or complete (``status: done``) a task."""
    user = require_user()
    changes = json.model_dump(exclude_unset=True)
    rules.check_not_null(changes, ("title", "status", "description"))
    with current_database().session() as session:
        task, project = services.task_in(session, task_id, user.id)
        task = services.update_task(session, task, project, user.id, changes, task_url)
        return TaskOut.model_validate(queries.task_dict(task))


@api_projects.delete("/tasks/<int:task_id>")
@spec.validate(resp=Response("HTTP_204"), tags=["tasks"])
def delete_task(task_id: int) -> tuple[str, int]:
    """Delete a task."""
    user = require_user()
    with current_database().session() as session:
        task, _ = services.task_in(session, task_id, user.id)
        services.delete_task(session, task)
    return "", 204


@api_projects.post("/projects/<int:project_id>/exports")
@spec.validate(resp=Response(HTTP_202=ExportQueued), tags=["projects"])
def export_project(project_id: int) -> tuple[ExportQueued, int]:
    """Ask the worker for a CSV of the project's tasks (the owner downloads it from the page)."""
    user = require_user()
    rules.check_owner(_visible(project_id), user.id, "export it")
    with current_database().session() as session:
        export = services.request_export(session, project_id, user.id)
        answer = ExportQueued(
            id=export.id, job_id=export.job_id, project_id=project_id, status="queued"
        )
    return answer, 202
