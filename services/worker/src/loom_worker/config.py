"""Settings only the worker reads (``LOOM_WORKER_*``): retention, schedules, request limits.

The shared settings (broker, database, SMTP, service URLs) stay in loom_common.settings.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from loom_common.contracts import JOB_CLEANUP, JOB_DAILY_DIGEST
from loom_common.settings import load_config


class Schedule(BaseModel):
    """A job fired at every time its cron expression matches (5 fields, or 6 with seconds last)."""

    job: str = Field(min_length=1, max_length=200)
    cron: str
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r}")
        return value


DEFAULT_SCHEDULES = {
    "daily-digest": Schedule(job=JOB_DAILY_DIGEST, cron="0 7 * * *"),
    "hourly-cleanup": Schedule(job=JOB_CLEANUP, cron="0 * * * *"),
}


class WorkerConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOM_WORKER_", extra="ignore", frozen=True)

    # Finished job records (and their sent-email rows) older than this are dropped by cleanup.
    job_retention_hours: float = Field(default=7 * 24, gt=0)
    # Export files older than this are removed by cleanup (web fetches them soon after).
    export_retention_hours: float = Field(default=24, gt=0)
    # JSON: {"name": {"job": "digest.daily", "cron": "0 7 * * *", "args": {}}, ...}
    schedules: dict[str, Schedule] = Field(default_factory=lambda: dict(DEFAULT_SCHEDULES))
    schedule_timezone: str = "UTC"
    # Largest POST /api/jobs body accepted (413 above it).
    max_request_bytes: int = Field(default=64 * 1024, ge=1024)

    @field_validator("schedule_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("schedules")
    @classmethod
    def _check_schedule_names(cls, value: dict[str, Schedule]) -> dict[str, Schedule]:
        for name in value:
            if not name or len(name) > 100:
                raise ValueError(f"schedule names are 1 to 100 characters, got {name!r}")
        return value

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.schedule_timezone)


def load_worker_config(**overrides: Any) -> WorkerConfig:
    """Read ``LOOM_WORKER_*``; exit with a message naming the variable when one is wrong."""
    return load_config(WorkerConfig, **overrides)
