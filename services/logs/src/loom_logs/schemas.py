"""Request and response models of the logs API (they also make its OpenAPI document)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from loom_common.timestamps import UtcDatetime
from loom_logs.store.levels import LevelName

FIELD_FILTER = re.compile(r"^[A-Za-z0-9_.\-]{1,100}=.*$", re.DOTALL)


class LogFilterQuery(BaseModel):
    """The filters shared by search, histogram, live tail and delete."""

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
    field: list[str] = Field(
        default_factory=list,
        description="structured field filters, name=value (repeat for several; all must hold); "
        "nested fields by their dotted name, e.g. order.id=7",
    )
    since: UtcDatetime | None = Field(
        default=None, description="ISO-8601, inclusive; no offset = UTC"
    )
    until: UtcDatetime | None = Field(
        default=None, description="ISO-8601, exclusive; no offset = UTC"
    )

    @field_validator("service", "request_id", "q", "field")
    @classmethod
    def _no_nul(cls, value: str | list[str] | None) -> str | list[str] | None:
        # NUL ends a string early in SQLite's FTS5 and LIKE and cannot be sent to PostgreSQL
        # at all: no stored message holds one (ingest replaces it), so none can be searched for.
        values = value if isinstance(value, list) else [value]
        if any(text is not None and "\x00" in text for text in values):
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("service")
    @classmethod
    def _split_services(cls, values: list[str]) -> list[str]:
        return [name.strip() for value in values for name in value.split(",") if name.strip()]

    @field_validator("field")
    @classmethod
    def _field_filters(cls, values: list[str]) -> list[str]:
        for value in values:
            if not FIELD_FILTER.match(value):
                raise ValueError(
                    "expected name=value, the name of letters, digits, '_', '.' or '-'"
                )
        return values

    @field_validator("level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def field_pairs(self) -> list[tuple[str, str]]:
        return [tuple(value.split("=", 1)) for value in self.field]  # type: ignore[misc]

    def has_filters(self) -> bool:
        return bool(
            self.service
            or self.level
            or self.request_id
            or self.q
            or self.field
            or self.since
            or self.until
        )


class LogSearchQuery(LogFilterQuery):
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")


class HistogramQuery(LogFilterQuery):
    interval: str = Field(
        default="1m",
        pattern=r"^[1-9][0-9]{0,5}[smhd]$",
        description="bucket width: a number and s, m, h or d (e.g. 30s, 5m, 1h, 1d)",
    )


class ContextQuery(BaseModel):
    before: int = Field(default=10, ge=0, le=500, description="records before, oldest first")
    after: int = Field(default=10, ge=0, le=500, description="records after")


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


class IngestRejection(BaseModel):
    index: int = Field(description="position of the record in the request (0-based)")
    reason: str = Field(description="e.g. missing_time, invalid_level, record_too_large")
    message: str


class IngestReport(BaseModel):
    accepted: int = Field(description="records queued for storage")
    rejected: int = Field(description="records refused")
    rejections: list[IngestRejection] = Field(description="the first 100 refusals")


class LogContext(BaseModel):
    before: list[LogItem] = Field(description="same service and host, oldest first")
    record: LogItem
    after: list[LogItem]


class HistogramBucket(BaseModel):
    start: datetime
    count: int


class Histogram(BaseModel):
    interval_seconds: int
    buckets: list[HistogramBucket] = Field(description="oldest first; empty buckets included")


class DeleteResult(BaseModel):
    deleted: int
