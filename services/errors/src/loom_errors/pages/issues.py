"""The issue list (the home page) and one issue's page with its events and status buttons."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from loom_common.cursors import InvalidCursor
from loom_common.flask_app import current_database
from loom_common.operator_ui import page
from loom_common.page_query import BadFilters, query_string
from loom_errors.issues.queries import issue_out, list_events, list_issues
from loom_errors.issues.workflow import set_status
from loom_errors.models import ISSUE_STATUSES, Event, Issue, IssueFacet, Project, utcnow
from loom_errors.pages.event_view import event_view
from loom_errors.pages.formatting import STATUS_LABELS
from loom_errors.pages.issue_query import filter_pairs, read_issue_query
from loom_errors.pages.refusals import count_refusal, refuse
from loom_errors.pages.sparklines import hourly_counts, sparkline
from loom_errors.schemas import IssuePage, PageQuery

issue_pages = Blueprint("issue_pages", __name__)

LEVELS = ("debug", "info", "warning", "error", "fatal")
SORTS = {"last_seen": "last seen", "first_seen": "first seen", "count": "events"}
# The buttons of the issue page: the status each sets, and its label.
STATUS_ACTIONS = {
    "resolved": "Resolve",
    "resolved_in_next_release": "Resolve in next release",
    "ignored": "Ignore",
    "unresolved": "Reopen",
}
KNOWN_VALUES_SHOWN = 100


def _known_values(session: Session) -> dict[str, list[str]]:
    """Environments, releases and services events came with: suggestions for the filters."""
    known = {}
    for name in ("environment", "release", "service"):
        column = getattr(IssueFacet, name)
        found = session.scalars(
            select(column).distinct().where(column != "").order_by(column).limit(KNOWN_VALUES_SHOWN)
        )
        known[name] = list(found)
    return known


def _project_names(session: Session) -> dict[int, str]:
    rows = session.execute(select(Project.id, Project.name).order_by(Project.id))
    return {project_id: name for project_id, name in rows}


def _list_page(
    found: IssuePage | None = None,
    problems: dict[str, str] | None = None,
    **shown: Any,
) -> str:
    with current_database().session() as session:
        projects = _project_names(session)
        known = _known_values(session)
    return render_template(
        "errors/issues.html",
        args=request.args,
        found=found,
        problems=problems or {},
        projects=projects,
        known=known,
        levels=LEVELS,
        statuses=STATUS_LABELS,
        sorts=SORTS,
        **shown,
    )


@issue_pages.get("/")
@page
def issue_list() -> str | tuple[str, int]:
    """Issues with the API's filters and sorts, with a 24-hour sparkline each, a page at a time."""
    try:
        query = read_issue_query(request.args)
    except BadFilters as bad:
        count_refusal("invalid_filters")
        return _list_page(problems=bad.problems), 422
    now = utcnow()
    with current_database().session() as session:
        try:
            found = list_issues(session, query)
        except InvalidCursor as error:
            count_refusal("invalid_cursor")
            return _list_page(problems={"cursor": str(error)}), 400
        counts = hourly_counts(session, [issue.id for issue in found.items], now)
    same_list = filter_pairs(request.args)
    next_url = None
    if found.next_cursor is not None:
        next_url = "?" + query_string(same_list, cursor=found.next_cursor)
    return _list_page(
        found,
        sparklines={issue_id: sparkline(hourly, now) for issue_id, hourly in counts.items()},
        next_url=next_url,
        first_url="?" + query_string(same_list) if query.cursor else None,
    )


def _logs_url(request_id: str) -> str:
    """The logs service's search for one request id (its home page takes the parameter)."""
    base: str = current_app.config["LOOM_ERRORS_LOGS_URL"]
    return f"{base}/?{urlencode({'request_id': request_id})}"


@issue_pages.get("/issues/<int:issue_id>")
@page
def issue_detail(issue_id: int) -> str | tuple[str, int]:
    """The issue, its latest event (or an older one, ``?event=<cursor>``) and its buttons."""
    cursor = request.args.get("event", "").strip() or None
    with current_database().session() as session:
        issue = session.get(Issue, issue_id)
        if issue is None:
            return refuse("not_found", 404, f"There is no issue {issue_id}.")
        try:
            events = list_events(session, issue_id, PageQuery(limit=1, cursor=cursor))
        except (InvalidCursor, ValidationError):
            return refuse(
                "invalid_cursor", 400, "That event link is not valid: open the issue again."
            )
        stored = session.scalar(select(func.count()).where(Event.issue_id == issue_id)) or 0
        project = session.get(Project, issue.project_id)
        shown = issue_out(issue)
    event = events.items[0] if events.items else None
    older_url = None
    if events.next_cursor is not None:
        older_url = url_for(".issue_detail", issue_id=issue_id, event=events.next_cursor)
    return render_template(
        "errors/issue.html",
        issue=shown,
        project_name=project.name if project is not None else str(shown.project_id),
        event=event,
        view=event_view(event.payload) if event is not None else None,
        logs_url=_logs_url(event.request_id) if event is not None and event.request_id else None,
        stored_events=stored,
        older_url=older_url,
        latest_url=url_for(".issue_detail", issue_id=issue_id) if cursor else None,
        actions={
            status: label for status, label in STATUS_ACTIONS.items() if status != shown.status
        },
    )


@issue_pages.post("/issues/<int:issue_id>/status")
@page
def change_status(issue_id: int) -> BaseResponse | tuple[str, int]:
    """Resolve, resolve in the next release, ignore or reopen (the page's buttons)."""
    status = request.form.get("status", "")
    if status not in ISSUE_STATUSES:
        return refuse(
            "invalid_status",
            422,
            f"status: {status[:40]!r} is not one of {', '.join(ISSUE_STATUSES)}.",
        )
    with current_database().session() as session:
        issue = session.get(Issue, issue_id)
        if issue is None:
            return refuse("not_found", 404, f"There is no issue {issue_id}.")
        set_status(issue, status)
    flash(f"Issue marked {STATUS_LABELS[status]}.", "info")
    return redirect(url_for(".issue_detail", issue_id=issue_id), code=303)
