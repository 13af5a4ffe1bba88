"""The project page's content, rendered once per project version and shared by its members.

Rendering 50 task rows and two forms is most of what a project page costs, and none of it
depends on who asks beyond whether they own the project. So the content under the page's
header is rendered once per project version (:mod:`loom_web.projects.cache`: every write moves
the project to a new one) and per owner-or-member, filters and page, with placeholders where
the per-request parts go: the CSRF token and the owner's exports card (live job states from
the worker). The placeholders are random per rendering, so no text a user typed can hold one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import render_template, url_for
from markupsafe import Markup, escape

from loom_web.projects import services
from loom_web.projects.cache import read_through, task_page_variant
from loom_web.projects.forms import InviteForm, task_form
from loom_web.projects.queries import TaskFilters
from loom_web.projects.snapshots import ProjectView


@dataclass(frozen=True)
class PageBody:
    html: str
    csrf_slot: str
    exports_slot: str

    def fill(self, csrf_token: str, exports_card: Markup) -> Markup:
        html = self.html.replace(self.csrf_slot, str(escape(csrf_token)))
        return Markup(html.replace(self.exports_slot, str(escape(exports_card))))


def _filter_args(filters: TaskFilters) -> dict[str, Any]:
    """The query string that gives ``filters`` back (the next page link keeps them)."""
    args: dict[str, Any] = {"status": filters.status, "assignee_id": filters.assignee_id}
    for name in ("due_before", "due_after"):
        value = getattr(filters, name)
        args[name] = value.replace(tzinfo=None).isoformat() if value else None
    return {name: value for name, value in args.items() if value is not None}


def project_body(
    project: ProjectView,
    filters: TaskFilters,
    cursor: str | None,
    owner: bool,
    page_size: int,
) -> PageBody:
    """The cached content (a 400 ``ApiError`` for a cursor that is not ours)."""
    project_id = project.id

    def render() -> PageBody:
        tasks = services.task_page(project_id, filters, page_size, cursor)
        next_url = None
        if tasks["next_cursor"]:
            next_url = url_for(
                "project_pages.project",
                project_id=project_id,
                cursor=tasks["next_cursor"],
                **_filter_args(filters),
            )
        csrf_slot, exports_slot = secrets.token_hex(16), secrets.token_hex(16)
        html = render_template(
            "_project_body.html",
            project=project,
            tasks=tasks,
            next_url=next_url,
            filters=filters,
            owner=owner,
            csrf=csrf_slot,
            exports_slot=exports_slot,
            task_form=task_form(project.members, formdata=None, meta={"csrf": False}),
            invite_form=InviteForm(formdata=None, meta={"csrf": False}),
        )
        return PageBody(html, csrf_slot, exports_slot)

    who = "owner" if owner else "member"
    variant = f"{who}:{task_page_variant(filters, page_size, cursor)}"
    return read_through("page", project_id, variant, render)
