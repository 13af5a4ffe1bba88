"""The web app's own knobs, read from ``LOOM_WEB_*`` variables.

They sit beside the shared settings (database, cache, service URLs) because nothing else needs
them. Read when the app is made; tests give their own (``create_app(settings, WebConfig(...))``)
to change a limit or keep two apps' cache entries apart.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from loom_common.settings import load_config


class WebConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOM_WEB_", extra="ignore", frozen=True)

    # Largest request body (forms, API JSON); 413 above it.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Limits in Flask-Limiter's notation (see rate_limits.py). Log-in attempts, page and API
    # together: per address, and per account from one address.
    login_limit_per_account: str = "5 per minute"
    login_limit_per_address: str = "30 per minute"
    # Forms that send an email (reset requests, registration): per address and per email.
    email_limit_per_address: str = "20 per hour"
    email_limit_per_email: str = "3 per hour"
    # Where the cache and the rate limits keep their keys (one Redis may serve several apps).
    cache_key_prefix: str = "loom-web:"
    rate_limit_key_prefix: str = "loom-web-limits"


def load_web_config(**overrides: object) -> WebConfig:
    """Read ``LOOM_WEB_*``; exit with a message naming the variable when one is wrong."""
    return load_config(WebConfig, **overrides)
