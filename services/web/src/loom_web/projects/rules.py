"""Who may see and change what in a project: pure functions of a :class:`ProjectView`.

A rule that says no raises a :class:`ProductError`; the HTTP layer (``loom_web.refusals``) turns
each kind into its status and message, on the API and on the pages alike.
"""

from __future__ import annotations

from loom_web.projects.snapshots import ProjectView


class ProductError(Exception):
    """A request the product refuses; ``field`` names the field at fault, if one is."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ProductError):
    status = 404


class NotAllowed(ProductError):
    status = 403


class Conflict(ProductError):
    status = 409


class Invalid(ProductError):
    status = 422


def project_not_found(project_id: int) -> NotFound:
    # The same answer whether the project is missing or just not yours: no existence leak.
    return NotFound(f"no project with id {project_id}")


def task_not_found(task_id: int) -> NotFound:
    return NotFound(f"no task with id {task_id}")


def may_see(project: ProjectView, user_id: int | None) -> bool:
    """Members see their project; ``None`` (the operator) sees every project."""
    return user_id is None or user_id in project.member_ids


def is_owner(project: ProjectView, user_id: int | None) -> bool:
    return any(m.id == user_id and m.role == "owner" for m in project.members)


def check_owner(project: ProjectView, user_id: int | None, what: str) -> None:
    """``what``: the action only the owner may take, as the refusal says it."""
    if not is_owner(project, user_id):
        raise NotAllowed(f"only the project's owner can {what}")


def check_new_member(project: ProjectView, user_id: int, email: str) -> None:
    if user_id in project.member_ids:
        raise Conflict(f"{email} is already a member of this project")


def check_assignee(project: ProjectView, assignee_id: int | None) -> None:
    if assignee_id is not None and assignee_id not in project.member_ids:
        raise Invalid("the assignee must be a member of the project", field="assignee_id")


def check_not_null(changes: dict[str, object], names: tuple[str, ...]) -> None:
    """A patch may leave these fields out but not set them to null."""
    for name in names:
        if name in changes and changes[name] is None:
            raise Invalid(f"{name} cannot be null", field=name)


def should_tell_assignee(assignee_id: int | None, by_user_id: int) -> bool:
    """Nobody to tell, or they assigned it to themselves: no email."""
    return assignee_id is not None and assignee_id != by_user_id
