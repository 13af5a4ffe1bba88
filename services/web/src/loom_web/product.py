"""The task tracker itself: projects, members and tasks, shared by the pages and the API.

Reads that pages and lists repeat go through :mod:`loom_web.read_cache`; every write here marks
its project so the cache moves to a new version once the transaction has committed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from loom_common.after_commit import after_commit
from loom_common.broker import send_after_commit
from loom_common.contracts import JOB_TASK_ASSIGNED_EMAIL, JOBS_QUEUE
from loom_common.cursors import decode_cursor, encode_cursor
from loom_common.db import utcnow
from loom_common.flask_app import current_database
from loom_web.models import Membership, Project, Task, User
from loom_web.read_cache import invalidate_project, read_through


class ProductError(Exception):
    """A request the product refuses: ``status`` 404/409/422/403 and, for 422, the field."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def not_found(project_id: int) -> ProductError:
    # The same answer whether the project is missing or just not yours: no existence leak.
    return ProductError(404, f"no project with id {project_id}")


@dataclass(frozen=True)
class TaskFilters:
    status: str | None = None
    assignee_id: int | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None

    def key(self) -> str:
        raw = orjson.dumps(
            [self.status, self.assignee_id, _iso(self.due_before), _iso(self.due_after)]
        )
        return hashlib.sha256(raw).hexdigest()[:16]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def mark_project_changed(session: Session, project_id: int) -> None:
    """Move the project's cached reads to a new version once ``session`` commits."""
    after_commit(
        session, partial(invalidate_project, project_id), key=("project_changed", project_id)
    )


# --- projects and members ---------------------------------------------------------------


def user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "email": user.email}


def project_snapshot(project_id: int) -> dict[str, Any] | None:
    """The project and its members (cached): what the project page and access checks need."""

    def build() -> dict[str, Any] | None:
        with current_database().session() as session:
            project = session.get(Project, project_id)
            if project is None:
                return None
            members = session.scalars(
                select(Membership)
                .where(Membership.project_id == project_id)
                .order_by(Membership.id)
            ).all()
            return {
                "id": project.id,
                "name": project.name,
                "description": project.description,
                "owner_id": project.owner_id,
                "created_at": project.created_at,
                "members": [{**user_dict(m.user), "role": m.role} for m in members],
            }

    snapshot = read_through("project", project_id, "page", build)
    return snapshot


def visible_project(project_id: int, user_id: int | None) -> dict[str, Any]:
    """The project if ``user_id`` is a member (``None``: the operator sees every project)."""
    snapshot = project_snapshot(project_id)
    if snapshot is None:
        raise not_found(project_id)
    if user_id is not None and user_id not in member_ids(snapshot):
        raise not_found(project_id)
    return snapshot


def member_ids(snapshot: dict[str, Any]) -> set[int]:
    return {member["id"] for member in snapshot["members"]}


def is_owner(snapshot: dict[str, Any], user_id: int | None) -> bool:
    return any(m["id"] == user_id and m["role"] == "owner" for m in snapshot["members"])


def projects_of(session: Session, user_id: int) -> list[Project]:
    return list(
        session.scalars(
            select(Project)
            .join(Membership, Membership.project_id == Project.id)
            .where(Membership.user_id == user_id)
            .order_by(Project.id)
        )
    )


def create_project(session: Session, owner_id: int, name: str, description: str) -> Project:
    project = Project(name=name, description=description, owner_id=owner_id)
    session.add(project)
    session.flush()
    session.add(Membership(project_id=project.id, user_id=owner_id, role="owner"))
    mark_project_changed(session, project.id)
    return project


def invite_member(
    session: Session, snapshot: dict[str, Any], by_user_id: int, email: str, role: str
) -> User:
    if not is_owner(snapshot, by_user_id):
        raise ProductError(403, "only the project's owner can invite members")
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise ProductError(422, f"no user with email {email}", field="email")
    if user.id in member_ids(snapshot):
        raise ProductError(409, f"{user.email} is already a member of this project")
    session.add(Membership(project_id=snapshot["id"], user_id=user.id, role=role))
    mark_project_changed(session, snapshot["id"])
    return user


# --- tasks -------------------------------------------------------------------------------


def task_dict(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "project_id": task.project_id,
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "assignee": user_dict(task.assignee) if task.assignee else None,
        "due_date": task.due_date,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "completed_at": task.completed_at,
    }


def _after_id(cursor: str | None) -> int:
    if not cursor:
        return 0
    after_id: int = decode_cursor("tasks", cursor, int)[0]
    return after_id


def task_page_variant(filters: TaskFilters, limit: int, cursor: str | None) -> str:
    """What names one page of a task list inside a project version (a 400 for a bad cursor)."""
    return f"{filters.key()}:{limit}:{_after_id(cursor)}"


def query_task_page(
    project_id: int, filters: TaskFilters, limit: int, cursor: str | None
) -> dict[str, Any]:
    """``{"items": [...], "next_cursor": ...}`` in id order, from the database.

    Callers cache what they make of it (the page's HTML, the API's JSON) with
    :func:`loom_web.read_cache.read_through` under :func:`task_page_variant`.
    """
    statement = (
        select(Task)
        .where(Task.project_id == project_id, Task.id > _after_id(cursor))
        .order_by(Task.id)
        .limit(limit + 1)
    )
    if filters.status:
        statement = statement.where(Task.status == filters.status)
    if filters.assignee_id is not None:
        statement = statement.where(Task.assignee_id == filters.assignee_id)
    if filters.due_before:
        statement = statement.where(Task.due_date < filters.due_before)
    if filters.due_after:
        statement = statement.where(Task.due_date > filters.due_after)
    with current_database().session() as session:
        tasks = list(session.scalars(statement).unique())
        page = tasks[:limit]
        more = len(tasks) > limit
        return {
            "items": [task_dict(task) for task in page],
            "next_cursor": encode_cursor("tasks", page[-1].id) if more else None,
        }


def task_in(session: Session, task_id: int, user_id: int | None) -> tuple[Task, dict[str, Any]]:
    """The task and its project's snapshot, if ``user_id`` may see it (else 404)."""
    task = session.get(Task, task_id)
    if task is None:
        raise ProductError(404, f"no task with id {task_id}")
    try:
        snapshot = visible_project(task.project_id, user_id)
    except ProductError:
        raise ProductError(404, f"no task with id {task_id}") from None
    return task, snapshot


def _check_assignee(snapshot: dict[str, Any], assignee_id: int | None) -> None:
    if assignee_id is not None and assignee_id not in member_ids(snapshot):
        raise ProductError(422, "the assignee must be a member of the project", field="assignee_id")


def _tell_assignee(
    session: Session, task: Task, snapshot: dict[str, Any], by: User, url: str
) -> None:
    if task.assignee_id is None or task.assignee_id == by.id:
        return  # nobody to tell, or they assigned it to themselves
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
        project_name=snapshot["name"],
        task_url=url,
        assigned_by=by.name,
    )


def create_task(
    session: Session,
    snapshot: dict[str, Any],
    by_user_id: int,
    fields: dict[str, Any],
    task_url: Any,
) -> Task:
    _check_assignee(snapshot, fields.get("assignee_id"))
    task = Task(project_id=snapshot["id"], created_by=by_user_id, **fields)
    if task.status == "done":
        task.completed_at = utcnow()
    session.add(task)
    session.flush()
    by = session.get(User, by_user_id)
    if by is not None:
        _tell_assignee(session, task, snapshot, by, task_url(task))
    mark_project_changed(session, task.project_id)
    return task


def update_task(
    session: Session,
    task: Task,
    snapshot: dict[str, Any],
    by_user_id: int,
    changes: dict[str, Any],
    task_url: Any,
) -> Task:
    """Apply ``changes`` (only the fields given); a new assignee gets an email."""
    if "assignee_id" in changes:
        _check_assignee(snapshot, changes["assignee_id"])
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
        _tell_assignee(session, task, snapshot, by, task_url(task))
    mark_project_changed(session, task.project_id)
    return task


def delete_task(session: Session, task: Task) -> None:
    session.delete(task)
    mark_project_changed(session, task.project_id)
