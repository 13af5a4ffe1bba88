"""Request and response models of the errors API (they also make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

IssueStatus = Literal["unresolved", "resolved", "ignored"]
Level = Literal["debug", "info", "warning", "error", "fatal"]


class PageQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=200, description="items per page")
    cursor: str | None = Field(
        default=None, max_length=500, description="next_cursor of the previous page"
    )


class IssueQuery(PageQuery):
    """Filters combine with AND; service, environment and level are those of the latest event."""

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
    title: str
    culprit: str | None
    level: str
    status: str
    count: int
    first_seen: datetime
    last_seen: datetime
    service: str | None
    environment: str | None
    release: str | None
    last_event_id: str


class IssuePage(BaseModel):
    items: list[IssueOut]
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
