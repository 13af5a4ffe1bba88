"""The product's use cases, as the pages and the API call them: each checks the rules against
the cached :class:`ProjectView`, writes through ``queries`` in the caller's session, and marks
the project changed so the cache moves on once the transaction commits. Emails to assignees
are sent after that commit too (``send_after_commit``), never for a write that rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from loom_common.broker import send_after_commit
from loom_common.contracts import JOB_PROJECT_EXPORT, JOB_TASK_ASSIGNED_EMAIL, JOBS_QUEUE
from loom_common.db import utcnow
from loom_common.flask_app import current_database
from loom_web.models import Export, Project, Task, User
from loom_web.projects import queries, rules
from loom_web.projects.cache import mark_project_changed, project_view, read_through
from loom_web.projects.queries import TaskFilters
from loom_web.projects.snapshots import ExportRecord, ProjectView

TaskUrl = Callable[[Task], str]


# --- projects and members ---------------------------------------------------------------


def visible_project(project_id: int, user_id: int | None) -> ProjectView:
    """The project if ``user_id`` is a member (``None``: the operator sees every project)."""
    project = project_view(project_id)
    if project is None or not rules.may_see(project, user_id):
        raise rules.project_not_found(project_id)
    return project


def visible_projects(user_id: int | None) -> list[ProjectView]:
    """The projects ``user_id`` is a member of (``None``: every project), in id order."""
    with current_database().session() as session:
        if user_id is None:
            ids = queries.all_project_ids(session)
        else:
            ids = [project.id for project in queries.projects_of(session, user_id)]
    views = [project_view(project_id) for project_id in ids]
    return [view for view in views if view is not None]


def projects_of(session: Session, user_id: int) -> list[Project]:
    return queries.projects_of(session, user_id)


def create_project(session: Session, owner_id: int, name: str, description: str) -> Project:
    project = queries.add_project(session, owner_id, name, description)
    mark_project_changed(session, project.id)
    return project


def invite_member(
    session: Session, project: ProjectView, by_user_id: int, email: str, role: str
) -> User:
    rules.check_owner(project, by_user_id, "invite members")
    user = queries.user_by_email(session, email)
    if user is None:
        raise rules.Invalid(f"no user with email {email}", field="email")
    rules.check_new_member(project, user.id, user.email)
    queries.add_member(session, project.id, user.id, role)
    mark_project_changed(session, project.id)
    return user


# --- tasks -------------------------------------------------------------------------------


def task_page(
    project_id: int, filters: TaskFilters, limit: int, cursor: str | None
) -> dict[str, Any]:
    """``{"items": [...], "next_cursor": ...}`` in id order, from the database.

    Callers cache what they make of it (the page's HTML, the API's JSON) with
    :func:`loom_web.projects.cache.read_through` under
    :func:`loom_web.projects.cache.task_page_variant`.
    """
    with current_database().session() as session:
        return queries.task_page(session, project_id, filters, limit, cursor)


def task_in(session: Session, task_id: int, user_id: int | None) -> tuple[Task, ProjectView]:
    """The task and its project, if ``user_id`` may see it (else 404)."""
    task = session.get(Task, task_id)
    if task is None:
        raise rules.task_not_found(task_id)
    try:
        project = visible_project(task.project_id, user_id)
    except rules.NotFound:
        raise rules.task_not_found(task_id) from None
    return task, project


def _tell_assignee(session: Session, task: Task, project: ProjectView, by: User, url: str) -> None:
    if not rules.should_tell_assignee(task.assignee_id, by.id):
        return
    assignee = session.get(User, task.assignee_id)
    if assignee is None:
        return
    send_after_commit(
        session,
        JOBS_QUEUE,
        JOB_TASK_ASSIGNED_EMAIL,
        to=assignee.email,
        name=assignee.name,
        task_title=task.title,
        project_name=project.name,
        task_url=url,
        assigned_by=by.name,
    )


def create_task(
    session: Session,
    project: ProjectView,
    by_user_id: int,
    fields: dict[str, Any],
    task_url: TaskUrl,
) -> Task:
    rules.check_assignee(project, fields.get("assignee_id"))
    task = Task(project_id=project.id, created_by=by_user_id, **fields)
    if task.status == "done":
        task.completed_at = utcnow()
    session.add(task)
    session.flush()
    by = session.get(User, by_user_id)
    if by is not None:
        _tell_assignee(session, task, project, by, task_url(task))
    mark_project_changed(session, task.project_id)
    return task


def update_task(
    session: Session,
    task: Task,
    project: ProjectView,
    by_user_id: int,
    changes: dict[str, Any],
    task_url: TaskUrl,
) -> Task:
    """Apply ``changes`` (only the fields given); a new assignee gets an email."""
    if "assignee_id" in changes:
        rules.check_assignee(project, changes["assignee_id"])
    previous_assignee = task.assignee_id
    for name, value in changes.items():
        setattr(task, name, value)
    if "status" in changes:
        task.completed_at = utcnow() if task.status == "done" else None
    task.updated_at = utcnow()
    session.flush()
    session.refresh(task)
    by = session.get(User, by_user_id)
    if by is not None and task.assignee_id != previous_assignee:
        _tell_assignee(session, task, project, by, task_url(task))
    mark_project_changed(session, task.project_id)
    return task


def delete_task(session: Session, task: Task) -> None:
    session.delete(task)
    mark_project_changed(session, task.project_id)


# --- exports -----------------------------------------------------------------------------


def request_export(session: Session, project_id: int, user_id: int | None) -> Export:
    """Queue a CSV export to the worker (sent once ``session`` commits); the row records it."""
    message = send_after_commit(
        session, JOBS_QUEUE, JOB_PROJECT_EXPORT, project_id=project_id, requested_by=user_id
    )
    export = queries.add_export(session, message.message_id, project_id, user_id)
    mark_project_changed(session, project_id)
    return export


def recent_exports(project_id: int, limit: int = 5) -> list[ExportRecord]:
    """The project's latest exports, newest first (cached: asking for one is a write to the
    project)."""

    def build() -> list[ExportRecord]:
        with current_database().session() as session:
            return queries.recent_exports(session, project_id, limit)

    return read_through("exports", project_id, str(limit), build)
