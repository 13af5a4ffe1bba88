"""Request and response models of the worker's API (they also make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from loom_worker.models import JOB_STATUSES

JobStatus = Literal["queued", "running", "retrying", "succeeded", "failed", "dead"]
assert set(JobStatus.__args__) == set(JOB_STATUSES)  # type: ignore[attr-defined]


class JobOut(BaseModel):
    id: str
    actor: str
    queue: str
    status: JobStatus
    attempts: int
    arguments: dict[str, Any]
    result: Any = None
    error: str | None = None
    request_id: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobQuery(BaseModel):
    status: JobStatus | None = None
    actor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=200)


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None
