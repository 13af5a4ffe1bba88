"""Request and response models of the worker's API (they also make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from loom_worker.models import JOB_STATUSES, Job

JobStatus = Literal["queued", "running", "retrying", "succeeded", "failed", "dead"]
assert set(JobStatus.__args__) == set(JOB_STATUSES)  # type: ignore[attr-defined]


class Progress(BaseModel):
    done: int
    total: int | None = None
    fraction: float | None = Field(default=None, description="done / total, 0..1, when known")


class JobOut(BaseModel):
    id: str
    actor: str
    queue: str
    status: JobStatus
    attempts: int
    arguments: dict[str, Any]
    progress: Progress | None = None
    result: Any = None
    error: str | None = None
    request_id: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        progress = None
        if job.progress_done is not None:
            total = job.progress_total
            fraction = min(job.progress_done / total, 1.0) if total else None
            if total == 0:
                fraction = 1.0
            progress = Progress(done=job.progress_done, total=total, fraction=fraction)
        out = cls.model_validate(job, from_attributes=True)
        out.progress = progress
        return out


class JobQuery(BaseModel):
    status: JobStatus | None = None
    actor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=200)


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


class EnqueueRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="a job name, e.g. emails.welcome")
    args: dict[str, Any] = Field(default_factory=dict, description="the job's arguments")


class QueueOut(BaseModel):
    name: str
    ready: int
    unacknowledged: int
    consumers: int
    delayed: int = Field(description="messages waiting for their retry (the .DQ queue)")
    dead_letters: int = Field(description="messages in the dead-letter queue (.XQ)")


class QueueList(BaseModel):
    items: list[QueueOut]


class DeadLettersRequeued(BaseModel):
    queue: str
    requeued: int


class DeadLettersPurged(BaseModel):
    queue: str
    purged: int
