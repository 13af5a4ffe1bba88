"""One typed settings object, read from ``LOOM_*`` environment variables.

Every process calls :func:`load_settings` once at start. An invalid value stops the
process with a message naming the variable. ``staging`` and ``production`` refuse the dev
defaults and weak secrets (see :meth:`Settings._check_deployed`); ``production`` also refuses
what only fits one machine (the dev SMTP sink, SQLite, RabbitMQ's ``guest`` user).
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from loom_common.mail.smtp import SmtpTarget

SERVICES = ("web", "worker", "errors", "logs")
DEFAULT_SECRET_KEY = "dev-secret-key-change-me"
DEFAULT_API_TOKEN = "dev-api-token"
DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
# Deployed secrets are generated (`openssl rand -hex 32` gives 64 characters); these floors
# refuse a typed-in word. The token is sent by people and scripts, so its floor is lower.
MIN_SECRET_KEY_LENGTH = 32
MIN_API_TOKEN_LENGTH = 24
DEPLOYED_ENVIRONMENTS = ("staging", "production")
DEFAULT_PORTS = {"web": 8000, "worker": 8001, "errors": 8002, "logs": 8003}

Environment = Literal["dev", "test", "staging", "production"]


class SettingsError(SystemExit):
    """Raised at start when the environment holds an unusable value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOM_", extra="ignore", frozen=True)

    env: Environment = "dev"
    service: Literal["web", "worker", "errors", "logs"] | None = None
    release: str = "0.1.0"
    var_dir: Path = Path("var")

    broker_url: str = DEFAULT_BROKER_URL
    # quorum: every queue Loom declares is replicated on the cluster's nodes (staging,
    # production); classic suits one dev node. A queue's type cannot change in place: see
    # loom_common.queue_migration.
    queue_type: Literal["classic", "quorum"] = "classic"
    # RabbitMQ's management API (queue depths); unset means http://<broker host>:15672.
    broker_management_url: str | None = None
    web_database_url: str | None = None
    worker_database_url: str | None = None
    errors_database_url: str | None = None
    logs_database_url: str | None = None
    # Comma-separated PostgreSQL URLs of read replicas; reads go there, writes to the primary.
    web_database_replica_urls: str = ""
    worker_database_replica_urls: str = ""
    errors_database_replica_urls: str = ""
    logs_database_replica_urls: str = ""
    smtp_url: str = "smtp://127.0.0.1:1025"
    smtp_from: str = "Loom <loom@localhost>"
    # Redis URL of the shared cache; unset means an in-process cache.
    cache_url: str | None = None
    # Where each service is reached by the others over HTTP; unset means http://host:port.
    web_url: str | None = None
    worker_url: str | None = None
    errors_url: str | None = None
    logs_url: str | None = None

    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    api_token: SecretStr = SecretStr(DEFAULT_API_TOKEN)

    # How long an operator stays signed in to the errors and logs pages, counted from sign-in.
    operator_session_hours: float = Field(default=12.0, gt=0)

    host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=1, le=65535)
    worker_port: int = Field(default=8001, ge=1, le=65535)
    errors_port: int = Field(default=8002, ge=1, le=65535)
    logs_port: int = Field(default=8003, ge=1, le=65535)
    http_workers: int = Field(default=2, ge=1)
    http_threads: int = Field(default=4, ge=1)
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (nginx in
    # staging and production: 1). 0 trusts none: a client could name any address it likes.
    trusted_proxies: int = Field(default=0, ge=0, le=5)

    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["auto", "human", "json"] = "auto"
    ship_logs: bool = True
    log_ship_batch_size: int = Field(default=500, ge=1)
    log_ship_interval: float = Field(default=1.0, gt=0)
    log_ship_buffer: int = Field(default=20_000, ge=1)
    capture_errors: bool = True
    error_buffer: int = Field(default=1_000, ge=1)
    # Error events one process may send (capture_limits.py): a burst, then a steady rate;
    # and the same failure (exception type and raising line) at most this often.
    error_burst: int = Field(default=20, ge=1)
    error_rate: float = Field(default=2.0, gt=0)
    error_repeat_burst: int = Field(default=5, ge=1)
    error_repeats_per_minute: float = Field(default=2.0, gt=0)
    # Log batches the broker cannot take wait here and are replayed when it returns.
    log_spool_dir: Path | None = None
    log_spool_max_bytes: int = Field(default=256 * 1024 * 1024, ge=0)

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, value: str) -> str:
        for url in value.split(";"):
            parts = urlsplit(url)
            if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
                raise ValueError(f"expected amqp://user:password@host:port/vhost, got {url!r}")
        return value

    @field_validator(
        "web_database_url", "worker_database_url", "errors_database_url", "logs_database_url"
    )
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            make_url(value)
        except ArgumentError as error:
            raise ValueError(f"not a database URL: {value!r} ({error})") from None
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str) -> str:
        SmtpTarget.from_url(value)  # the sender's own reading: a ValueError naming the forms
        return value

    @model_validator(mode="after")
    def _check_deployed(self) -> Settings:
        """Staging and production hold real data behind these secrets: refuse the public dev
        defaults, guessable lengths, and one value serving as both key and token (leaking the
        token, which operators type and scripts send, would then forge sessions too)."""
        if self.env not in DEPLOYED_ENVIRONMENTS:
            return self
        secret_key = self.secret_key.get_secret_value()
        api_token = self.api_token.get_secret_value()
        if secret_key == DEFAULT_SECRET_KEY:
            raise ValueError(f"LOOM_SECRET_KEY: {self.env} refuses the default secret key")
        if api_token == DEFAULT_API_TOKEN:
            raise ValueError(f"LOOM_API_TOKEN: {self.env} refuses the default API token")
        if len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"LOOM_SECRET_KEY: {self.env} needs at least {MIN_SECRET_KEY_LENGTH} characters"
                f" (got {len(secret_key)}); generate one with `openssl rand -hex 32`"
            )
        if len(api_token) < MIN_API_TOKEN_LENGTH:
            raise ValueError(
                f"LOOM_API_TOKEN: {self.env} needs at least {MIN_API_TOKEN_LENGTH} characters"
                f" (got {len(api_token)}); generate one with `openssl rand -hex 32`"
            )
        if hmac.compare_digest(secret_key.encode(), api_token.encode()):
            raise ValueError("LOOM_SECRET_KEY: must differ from LOOM_API_TOKEN")
        if DEFAULT_BROKER_URL in self.broker_url.split(";"):
            raise ValueError(f"LOOM_BROKER_URL: {self.env} refuses the dev default broker URL")
        return self

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.env != "production":
            return self
        for url in self.broker_url.split(";"):
            broker = urlsplit(url)
            if broker.username in (None, "", "guest"):
                raise ValueError(
                    "LOOM_BROKER_URL: production refuses RabbitMQ's guest user; give Loom its own"
                )
            if broker.password in (None, "", "guest"):
                raise ValueError("LOOM_BROKER_URL: production needs the broker user's password")
        if urlsplit(self.smtp_url).port == 1025:
            raise ValueError("LOOM_SMTP_URL: production needs a real SMTP relay, not the dev sink")
        if self.service and self.database_url(self.service).startswith("sqlite"):
            name = f"LOOM_{self.service.upper()}_DATABASE_URL"
            raise ValueError(f"{name}: production needs a PostgreSQL URL, not SQLite")
        return self

    def database_url(self, service: str) -> str:
        """The service's database URL: the configured one, else a SQLite file under var/."""
        configured: str | None = getattr(self, f"{service}_database_url")
        return configured or f"sqlite:///{self.var_dir / (service + '.db')}"

    def database_replica_urls(self, service: str) -> list[str]:
        configured: str = getattr(self, f"{service}_database_replica_urls")
        return [url.strip() for url in configured.split(",") if url.strip()]

    def port(self, service: str) -> int:
        return int(getattr(self, f"{service}_port"))

    def service_url(self, service: str) -> str:
        """Base URL (no trailing slash) at which another service reaches ``service``'s HTTP API."""
        configured: str | None = getattr(self, f"{service}_url")
        return (configured or f"http://{self.host}:{self.port(service)}").rstrip("/")

    @property
    def management_url(self) -> str:
        """Management API base URL, with the broker's user and password when none is given."""
        if self.broker_management_url:
            return self.broker_management_url.rstrip("/")
        broker = urlsplit(self.broker_url.split(";")[0])
        credentials = f"{broker.username or 'guest'}:{broker.password or 'guest'}@"
        return f"http://{credentials}{broker.hostname}:15672"

    @property
    def vhost(self) -> str:
        """The broker's virtual host, decoded ("/" for the default)."""
        path = urlsplit(self.broker_url.split(";")[0]).path.removeprefix("/")
        return unquote(path) or "/"

    @property
    def spool_dir(self) -> Path:
        return self.log_spool_dir or self.var_dir / "spool" / (self.service or "process")

    @property
    def json_logs(self) -> bool:
        if self.log_format == "auto":
            return self.env != "dev"
        return self.log_format == "json"


def _describe(error: ValidationError, prefix: str = "LOOM_") -> str:
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        if field:
            lines.append(f"invalid setting {prefix}{field.upper()}: {message}")
        else:
            lines.append(f"invalid settings: {message}")
    return "\n".join(lines)


def load_settings(service: str | None = None, **overrides: object) -> Settings:
    """Read the settings from the environment; exit with a readable message if they are wrong."""
    if service is not None:
        overrides.setdefault("service", service)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


ServiceConfig = TypeVar("ServiceConfig", bound=BaseSettings)


def load_config(kind: type[ServiceConfig], **overrides: Any) -> ServiceConfig:
    """Read a service's own config (``LOOM_<SERVICE>_*``, beside the shared settings); exit
    with a message naming the variable if one is wrong, as :func:`load_settings` does."""
    try:
        return kind(**overrides)
    except ValidationError as error:
        raise SettingsError(
            _describe(error, str(kind.model_config.get("env_prefix", "")))
        ) from None
