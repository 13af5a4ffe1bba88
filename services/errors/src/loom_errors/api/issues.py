"""The errors service's JSON API: issues and the events grouped under them."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response

from loom_common.api_errors import ApiError
from loom_common.flask_app import current_database
from loom_errors.extensions import spec
from loom_errors.issues.queries import event_out, find_event, issue_out, list_events, list_issues
from loom_errors.issues.workflow import set_status
from loom_errors.models import Issue
from loom_errors.schemas import (
    EventOut,
    EventPage,
    IssueOut,
    IssuePage,
    IssueQuery,
    PageQuery,
    StatusIn,
)

api = Blueprint("api", __name__, url_prefix="/api")


@api.get("/issues")
@spec.validate(query=IssueQuery, resp=Response(HTTP_200=IssuePage), tags=["issues"])
def issues(query: IssueQuery) -> IssuePage:
    """List issues, most recently seen first."""
    with current_database().session() as session:
        return list_issues(session, query)  # a bad cursor is InvalidCursor, a 400


@api.get("/issues/<int:issue_id>")
@spec.validate(resp=Response(HTTP_200=IssueOut), tags=["issues"])
def issue(issue_id: int) -> IssueOut:
    """One issue."""
    with current_database().session() as session:
        found = session.get(Issue, issue_id)
        if found is None:
            raise ApiError(404, f"no issue with id {issue_id}")
        return issue_out(found)


@api.patch("/issues/<int:issue_id>")
@spec.validate(json=StatusIn, resp=Response(HTTP_200=IssueOut), tags=["issues"])
def change_status(issue_id: int, json: StatusIn) -> IssueOut:
    """Resolve, resolve in the next release, ignore or reopen an issue."""
    with current_database().session() as session:
        found = session.get(Issue, issue_id)
        if found is None:
            raise ApiError(404, f"no issue with id {issue_id}")
        set_status(found, json.status)
        return issue_out(found)


@api.get("/issues/<int:issue_id>/events")
@spec.validate(query=PageQuery, resp=Response(HTTP_200=EventPage), tags=["issues"])
def issue_events(issue_id: int, query: PageQuery) -> EventPage:
    """The events of one issue, latest first, each with its full payload."""
    with current_database().session() as session:
        if session.get(Issue, issue_id) is None:
            raise ApiError(404, f"no issue with id {issue_id}")
        return list_events(session, issue_id, query)


@api.get("/events/<event_id>")
@spec.validate(resp=Response(HTTP_200=EventOut), tags=["events"])
def event(event_id: str) -> EventOut:
    """One event by its Sentry event id."""
    with current_database().session() as session:
        found = find_event(session, event_id)
        if found is None:
            raise ApiError(404, f"no event with id {event_id}")
        return event_out(found)
