"""The product's SQLAlchemy reads and writes: every statement about projects, members and
tasks, each given the session to run in (the use cases in ``services`` own the transaction)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from loom_common.cursors import decode_cursor, encode_cursor
from loom_web.models import Export, Membership, Project, Task, User
from loom_web.projects.snapshots import ExportRecord, Member, ProjectView


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


# --- projects and members ---------------------------------------------------------------


def user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "email": user.email}


def load_project_view(session: Session, project_id: int) -> ProjectView | None:
    """The project and its members, in the order they joined."""
    project = session.get(Project, project_id)
    if project is None:
        return None
    memberships = session.scalars(
        select(Membership).where(Membership.project_id == project_id).order_by(Membership.id)
    ).all()
    return ProjectView(
        id=project.id,
        name=project.name,
        description=project.description,
        owner_id=project.owner_id,
        created_at=project.created_at,
        members=tuple(
            Member(id=m.user.id, name=m.user.name, email=m.user.email, role=m.role)
            for m in memberships
        ),
    )


def projects_of(session: Session, user_id: int) -> list[Project]:
    return list(
        session.scalars(
            select(Project)
            .join(Membership, Membership.project_id == Project.id)
            .where(Membership.user_id == user_id)
            .order_by(Project.id)
        )
    )


def all_project_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Project.id).order_by(Project.id)))


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def add_project(session: Session, owner_id: int, name: str, description: str) -> Project:
    """The project, with its owner as its first member."""
    project = Project(name=name, description=description, owner_id=owner_id)
    session.add(project)
    session.flush()
    session.add(Membership(project_id=project.id, user_id=owner_id, role="owner"))
    return project


def add_member(session: Session, project_id: int, user_id: int, role: str) -> None:
    session.add(Membership(project_id=project_id, user_id=user_id, role=role))


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


def after_id(cursor: str | None) -> int:
    """The task id a cursor continues after (a 400 for a cursor that is not ours)."""
    if not cursor:
        return 0
    after: int = decode_cursor("tasks", cursor, int)[0]
    return after


def task_page(
    session: Session, project_id: int, filters: TaskFilters, limit: int, cursor: str | None
) -> dict[str, Any]:
    """``{"items": [...], "next_cursor": ...}`` in id order."""
    statement = (
        select(Task)
        .where(Task.project_id == project_id, Task.id > after_id(cursor))
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
    tasks = list(session.scalars(statement).unique())
    page = tasks[:limit]
    more = len(tasks) > limit
    return {
        "items": [task_dict(task) for task in page],
        "next_cursor": encode_cursor("tasks", page[-1].id) if more else None,
    }


# --- exports -----------------------------------------------------------------------------


def add_export(session: Session, job_id: str, project_id: int, user_id: int | None) -> Export:
    export = Export(job_id=job_id, project_id=project_id, requested_by=user_id)
    session.add(export)
    session.flush()
    return export


def recent_exports(session: Session, project_id: int, limit: int) -> list[ExportRecord]:
    """The project's latest exports, newest first."""
    rows = session.scalars(
        select(Export)
        .where(Export.project_id == project_id)
        .order_by(Export.id.desc())
        .limit(limit)
    )
    return [ExportRecord(id=e.id, job_id=e.job_id, created_at=e.created_at) for e in rows]
