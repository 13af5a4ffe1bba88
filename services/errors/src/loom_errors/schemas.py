"""Request and response models of the errors API (they also make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from loom_common.bounded_ints import BoundedInt, Id

IssueStatus = Literal["unresolved", "resolved", "resolved_in_next_release", "ignored"]
Level = Literal["debug", "info", "warning", "error", "fatal"]


class PageQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=200, description="items per page")
    cursor: str | None = Field(
        default=None, max_length=500, description="next_cursor of the previous page"
    )


IssueSort = Literal["last_seen", "first_seen", "count"]


class IssueQuery(PageQuery):
    """Filters combine with AND. Environment, release, service and level match any event of
    the issue, and the counts and times shown are those of the matching events only."""

    sort: IssueSort = Field(default="last_seen", description="newest or largest first")
    project: Id | None = Field(default=None, description="project id")
    release: str | None = Field(default=None, max_length=200)
    status: IssueStatus | None = None
    service: str | None = Field(default=None, max_length=64)
    environment: str | None = Field(default=None, max_length=64)
    level: Level | None = None
    q: str | None = Field(
        default=None, min_length=1, max_length=200, description="text in the title or culprit"
    )
    request_id: str | None = Field(
        default=None, max_length=128, description="issues with an event from this request"
    )


class IssueOut(BaseModel):
    id: int
    project_id: int
    title: str
    culprit: str | None
    level: str
    status: str
    count: int = Field(description="events (those matching the list's filters, in a list)")
    total_count: int = Field(description="every event of the issue")
    user_count: int = Field(description="distinct users affected (id, email, username or IP)")
    first_seen: datetime
    last_seen: datetime
    service: str | None
    environment: str | None
    release: str | None
    last_event_id: str
    grouping_version: int
    regressed_at: datetime | None = Field(description="when a resolved issue last came back")
    resolved_at: datetime | None


class IssuePage(BaseModel):
    items: list[IssueOut]
    total: int = Field(description="issues matching the filters, on every page")
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at the end")


class EventOut(BaseModel):
    event_id: str
    issue_id: int
    timestamp: datetime
    received_at: datetime
    request_id: str | None
    level: str
    service: str | None
    environment: str | None
    release: str | None
    payload: dict[str, Any] = Field(description="the event as the SDK sent it")


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at the end")


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")


class ProjectOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    alert_recipients: list[str]
    alert_event_threshold: int | None
    alert_threshold_minutes: int | None


class ProjectPage(BaseModel):
    items: list[ProjectOut]
    next_cursor: str | None = None


class KeyOut(BaseModel):
    public_key: str
    project_id: int
    dsn: str
    created_at: datetime
    revoked_at: datetime | None


class KeyPage(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None = None


EMAIL_PATTERN = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$"


class AlertSettingsIn(BaseModel):
    """Who hears about this project's issues, and the "more than N events in M minutes" rule."""

    recipients: list[Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]] = Field(
        max_length=50
    )
    event_threshold: BoundedInt | None = Field(default=None, ge=1, description="N events ...")
    threshold_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="... in M minutes"
    )


class StatusIn(BaseModel):
    status: IssueStatus


class IngestAnswer(BaseModel):
    id: str = Field(description="the event id (32 hex digits)")
