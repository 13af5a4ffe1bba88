"""The errors service's own knobs, read from ``LOOM_ERRORS_*`` variables.

They sit beside the shared settings (which hold what every service reads: database, ports,
SMTP) because nothing else needs them. Read when a process starts (``create_app``, the
consumer, maintenance); views read the app's own with ``current_config(ErrorsConfig)``.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from loom_common.settings import load_config


class ErrorsConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOM_ERRORS_", extra="ignore", frozen=True)

    # Sentry ingest: the body as sent, and after Content-Encoding is undone.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    max_decompressed_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # Per project, shared by every HTTP worker: a bucket of `rate_burst` events that refills
    # at `rate_per_second`. 0 turns the limit off.
    rate_per_second: float = Field(default=50.0, ge=0)
    rate_burst: int = Field(default=500, ge=1)
    # Stored events per issue: the first one and the latest N (the count keeps counting).
    events_per_issue: int = Field(default=100, ge=1)
    retention_days: int = Field(default=90, ge=1)
    retention_batch: int = Field(default=1000, ge=1)
    # Email alerts.
    alert_cooldown_minutes: int = Field(default=30, ge=0)
    alerts_per_project_hour: int = Field(default=10, ge=1)
    digest_after_minutes: int = Field(default=15, ge=0)
    smtp_timeout_seconds: float = Field(default=5.0, gt=0)
    # A failed alert email is tried again after 1, 2, 4, ... times this, up to the attempts.
    alert_delivery_attempts: int = Field(default=5, ge=1)
    alert_retry_seconds: float = Field(default=60.0, gt=0)


def load_errors_config(**overrides: object) -> ErrorsConfig:
    """Read ``LOOM_ERRORS_*``; exit with a message naming the variable when one is wrong."""
    return load_config(ErrorsConfig, **overrides)
