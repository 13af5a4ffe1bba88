"""Request and response models of the logs API (they also make its OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from loom_logs.levels import LevelName


class LogSearchQuery(BaseModel):
    service: list[str] = Field(
        default_factory=list,
        description="only these services; repeat the parameter or separate names with commas",
    )
    level: LevelName | None = Field(
        default=None,
        description="minimum level (any case): WARNING also returns ERROR and CRITICAL",
    )
    request_id: str | None = Field(default=None, max_length=128)
    q: str | None = Field(
        default=None,
        max_length=1000,
        description='words and "quoted phrases" that must all appear in the message',
    )
    since: datetime | None = Field(default=None, description="ISO-8601, inclusive; no offset = UTC")
    until: datetime | None = Field(default=None, description="ISO-8601, exclusive; no offset = UTC")
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")

    @field_validator("service")
    @classmethod
    def _split_services(cls, values: list[str]) -> list[str]:
        return [name.strip() for value in values for name in value.split(",") if name.strip()]

    @field_validator("level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class LogItem(BaseModel):
    id: int
    time: datetime = Field(description="ISO-8601, UTC")
    level: str
    level_no: int
    service: str | None
    env: str | None
    host: str | None
    logger: str | None
    function: str | None
    line: int | None
    process: int | None
    thread: str | None
    message: str
    request_id: str | None
    exception: str | None = Field(description="the formatted traceback, when the line had one")
    fields: dict[str, Any] = Field(description="structured fields bound to the log call")


class LogPage(BaseModel):
    items: list[LogItem]
    next_cursor: str | None = Field(
        description="pass as cursor for the next page; null on the last"
    )
