"""``/api/v1`` endpoints for the worker's scheduled jobs (operator token only)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint
from spectree import Response
from sqlalchemy import delete, select

from loom_common.db import utcnow
from loom_common.flask_app import current_database
from loom_web.accounts.password_resets import drop_spent_resets
from loom_web.api.callers import require_operator
from loom_web.api.schemas import CleanupDone, Digest, DigestQuery
from loom_web.extensions import spec
from loom_web.models import LoginSession, Project, Task, User
from loom_web.projects.links import task_url

api_internal = Blueprint("api_v1_internal", __name__, url_prefix="/api/v1")


@api_internal.get("/digest")
@spec.validate(query=DigestQuery, resp=Response(HTTP_200=Digest), tags=["internal"])
def digest(query: DigestQuery) -> Digest:
    """Open tasks due before ``due_before``, grouped by assignee (for the daily digest email)."""
    require_operator()
    statement = (
        select(Task, User, Project.name)
        .join(User, User.id == Task.assignee_id)
        .join(Project, Project.id == Task.project_id)
        .where(Task.status != "done", Task.due_date < query.due_before)
        .order_by(User.id, Task.due_date, Task.id)
    )
    people: dict[int, dict[str, Any]] = {}
    tasks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with current_database().session() as session:
        for task, user, project_name in session.execute(statement).unique():
            people.setdefault(user.id, {"email": user.email, "name": user.name})
            tasks[user.id].append(
                {
                    "title": task.title,
                    "project": project_name,
                    "due_date": task.due_date,
                    "url": task_url(task),
                }
            )
    return Digest.model_validate(
        {"items": [{**person, "tasks": tasks[user_id]} for user_id, person in people.items()]}
    )


@api_internal.post("/maintenance/cleanup")
@spec.validate(resp=Response(HTTP_200=CleanupDone), tags=["internal"])
def cleanup() -> CleanupDone:
    """Remove expired login sessions and expired or used password reset tokens."""
    require_operator()
    with current_database().session() as session:
        sessions = session.execute(
            delete(LoginSession).where(LoginSession.expires_at <= utcnow())
        ).rowcount  # type: ignore[attr-defined]
        resets = drop_spent_resets(session)
    return CleanupDone(sessions=sessions, password_resets=resets)
