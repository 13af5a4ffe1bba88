"""The logs service's own settings (``LOOM_LOGS_*``), beside the shared ones in loom_common.

Read when a process starts (``create_app``, the GELF listener, retention); a bad value stops
it naming the variable. Views read the app's own with ``current_config(LogsConfig)``.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from loom_common.settings import load_config

KIB = 1024
MIB = 1024 * KIB


def parse_retention(value: str) -> dict[str, int]:
    """``"web=7, worker=30"`` as ``{"web": 7, "worker": 30}``; ValueError naming the bad part."""
    days: dict[str, int] = {}
    for part in filter(None, (piece.strip() for piece in value.split(","))):
        service, _, number = part.partition("=")
        if not service.strip() or not number.strip().isdigit() or int(number) < 1:
            raise ValueError(f"expected service=days (days >= 1), got {part!r}")
        days[service.strip()] = int(number)
    return days


class LogsConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOM_LOGS_", extra="ignore", frozen=True)

    # Comma-separated tokens that may only send logs (POST /api/ingest, /gelf, Loki push);
    # the operator token is always accepted as well.
    ingest_tokens: SecretStr = SecretStr("")
    max_record_bytes: int = Field(default=64 * KIB, ge=256)
    # Compressed or not, as it arrives; a decompressed body may be no larger either.
    max_body_bytes: int = Field(default=5 * MIB, ge=KIB)
    max_records_per_request: int = Field(default=10_000, ge=1)  # every HTTP input alike

    # Loki push: its labels are checked before any line is built. Loki's own defaults are
    # 1024 and 2048 bytes a name and value and 15 labels a stream (30 before Loki 3.0); 30
    # leaves room for the tags a handler adds. The labels repeat on every line they label, so
    # their bytes times the stream's lines are bounded across the request too.
    loki_max_labels_per_stream: int = Field(default=30, ge=1)
    loki_max_label_name_bytes: int = Field(default=1024, ge=1)
    loki_max_label_value_bytes: int = Field(default=2048, ge=1)
    loki_max_label_bytes_per_request: int = Field(default=8 * MIB, ge=KIB)

    gelf_host: str = "127.0.0.1"  # 0.0.0.0 to take GELF from other machines (no auth in GELF)
    gelf_port: int = Field(default=12201, ge=0, le=65535)  # UDP and TCP alike; 0: any free port
    # Bounds on what the GELF listeners hold (Graylog's inputs take 2 MiB a message and drop
    # chunk sets after 5 s): a message's bytes over TCP or reassembled from UDP chunks, open
    # TCP connections, a connection's silence, and the chunk sets waiting for their rest
    # (in number, and in bytes: the oldest are dropped first). Every drop is counted.
    gelf_max_message_bytes: int = Field(default=2 * MIB, ge=KIB)
    gelf_tcp_max_connections: int = Field(default=64, ge=1)
    gelf_tcp_idle_timeout: float = Field(default=60.0, gt=0)  # seconds without a byte
    gelf_chunk_timeout: float = Field(default=5.0, gt=0)
    gelf_max_pending_messages: int = Field(default=1_000, ge=1)
    gelf_max_pending_bytes: int = Field(default=32 * MIB, ge=KIB)
    gelf_publish_batch: int = Field(default=500, ge=1)
    gelf_buffer: int = Field(default=20_000, ge=1)

    # Records older than this many days are deleted; per service as "web=7,worker=30".
    retention_days: int = Field(default=14, ge=1)
    retention_by_service: str = ""
    retention_interval: float = Field(default=3600.0, gt=0)  # seconds between passes

    tail_poll_interval: float = Field(default=0.2, gt=0)
    tail_heartbeat: float = Field(default=15.0, gt=0)
    tail_queue_size: int = Field(default=1_000, ge=1)

    @field_validator("retention_by_service")
    @classmethod
    def _check_retention(cls, value: str) -> str:
        parse_retention(value)
        return value

    @property
    def retention_per_service(self) -> dict[str, int]:
        return parse_retention(self.retention_by_service)

    @property
    def ingest_token_list(self) -> list[str]:
        raw = self.ingest_tokens.get_secret_value()
        return [token.strip() for token in raw.split(",") if token.strip()]


def load_logs_config(**overrides: object) -> LogsConfig:
    """Read ``LOOM_LOGS_*``; exit with a message naming the variable when one is wrong."""
    return load_config(LogsConfig, **overrides)
