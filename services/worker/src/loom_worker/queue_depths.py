"""Queue depths from RabbitMQ's management HTTP API (GET /api/queues/<vhost>)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from dramatiq.common import dq_name, xq_name

TIMEOUT_SECONDS = 5.0


class ManagementUnavailable(Exception):
    """The management API did not answer; the message never holds its URL (it has credentials)."""


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
    url = f"{management_url}/api/queues/{quote(vhost, safe='')}"
    params = {"columns": "name,messages_ready,messages_unacknowledged,messages,consumers"}
    try:
        response = requests.get(url, params=params, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise ManagementUnavailable(f"RabbitMQ management API: {type(error).__name__}") from None
    if response.status_code != 200:
        raise ManagementUnavailable(f"RabbitMQ management API answered {response.status_code}")
    queues: list[dict[str, Any]] = response.json()
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
