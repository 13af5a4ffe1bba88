"""Queue depths from RabbitMQ's management HTTP API (GET /api/queues/<vhost>)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from dramatiq.common import dq_name, xq_name

TIMEOUT_SECONDS = 5.0


ENABLE_HINT = (
    "enable it on the RabbitMQ node with `rabbitmq-plugins enable rabbitmq_management`, "
    "or point LOOM_BROKER_MANAGEMENT_URL at it"
)


class ManagementUnavailable(Exception):
    """The management API could not give the queues. The message names its URL without the
    credentials, what went wrong and what to do; ``reason`` is a short label for a metric."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class QueueDepth:
    name: str
    ready: int = 0
    unacknowledged: int = 0
    consumers: int = 0
    delayed: int = 0
    dead_letters: int = 0


def _base_name(name: str) -> str:
    return name.removesuffix(".DQ").removesuffix(".XQ")


def fetch_queues(management_url: str, vhost: str) -> list[dict[str, Any]]:
    """The queues of ``vhost``; raises ManagementUnavailable saying why not."""
    url = f"{management_url}/api/queues/{quote(vhost, safe='')}"
    where = f"RabbitMQ's management API at {_without_credentials(management_url)}"
    params = {"columns": "name,messages_ready,messages_unacknowledged,messages,consumers"}
    try:
        response = requests.get(url, params=params, timeout=TIMEOUT_SECONDS)
    except requests.Timeout:
        raise ManagementUnavailable(
            f"{where} did not answer within {TIMEOUT_SECONDS:g}s", "timeout"
        ) from None
    except requests.RequestException as error:
        raise ManagementUnavailable(
            f"{where} is not answering ({type(error).__name__}): {ENABLE_HINT}", "unreachable"
        ) from None
    if response.status_code in (401, 403):
        raise ManagementUnavailable(
            f"{where} refused the broker's credentials ({response.status_code}): give a user "
            "with the 'monitoring' or 'management' tag in LOOM_BROKER_MANAGEMENT_URL",
            "refused",
        )
    if response.status_code == 404:
        raise ManagementUnavailable(
            f"{where} has no vhost {vhost!r}, or is not a RabbitMQ management API (404)",
            "not_found",
        )
    try:
        queues = response.json() if response.status_code == 200 else None
    except ValueError:
        queues = None
    if not isinstance(queues, list):
        raise ManagementUnavailable(
            f"{where} answered {response.status_code} without a list of queues", "bad_answer"
        )
    return queues


def queue_depths(queues: list[dict[str, Any]], always: set[str]) -> list[QueueDepth]:
    """One entry per base queue (``jobs``, not ``jobs.DQ``/``jobs.XQ``), plus ``always``."""
    by_name = {queue["name"]: queue for queue in queues}
    names = {_base_name(name) for name in by_name} | always

    def count(name: str, field: str) -> int:
        return int(by_name.get(name, {}).get(field) or 0)

    return [
        QueueDepth(
            name=name,
            ready=count(name, "messages_ready"),
            unacknowledged=count(name, "messages_unacknowledged"),
            consumers=count(name, "consumers"),
            delayed=count(dq_name(name), "messages"),
            dead_letters=count(xq_name(name), "messages"),
        )
        for name in sorted(names)
    ]
