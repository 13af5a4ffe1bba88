"""A broker URL list whose first node is dead (a closed port): every Loom connection reaches
the live one, and Dramatiq's sends (publisher confirms on) still land; a connection closed by
RabbitMQ mid-stream is replaced and the next send lands without a lost message."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

from loom_common.broker import LoomRabbitmqBroker, send, setup_broker
from loom_common.broker_urls import connect
from loom_common.health import broker_check
from loom_common.settings import Settings
from loom_common.testing import wait_until

Drain = Callable[[str], list[dict[str, Any]]]
DEAD_NODE = "amqp://guest:guest@127.0.0.1:1/%2F"


def _with_dead_first(broker_url: str) -> str:
    # The dead node gets the live node's vhost, as a real cluster member would.
    vhost = broker_url.rsplit("/", 1)[1]
    return f"{DEAD_NODE.rsplit('/', 1)[0]}/{vhost};{broker_url}"


def test_a_connection_skips_the_dead_first_node(broker_url: str) -> None:
    connection = connect(_with_dead_first(broker_url), timeout=2)
    try:
        assert connection.is_open
    finally:
        connection.close()
    broker_check(_with_dead_first(broker_url))()  # raises when no node answers


def test_sends_land_when_the_first_node_is_dead(
    make_settings: Callable[..., Settings], broker_url: str, drain_queue: Drain
) -> None:
    broker = setup_broker(
        make_settings("web", migrate=False, broker_url=_with_dead_first(broker_url))
    )
    queue = f"f-{uuid.uuid4().hex[:10]}"
    try:
        sent = [send(queue, "somewhere.else", n=n).message_id for n in range(5)]
    finally:
        broker.close()
    assert sorted(m["message_id"] for m in drain_queue(queue)) == sorted(sent)


def _close_connections_of(vhost: str) -> int:
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "vhost"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    pids = [line.split("\t")[0] for line in listed.stdout.splitlines() if line.endswith(vhost)]
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "-q", "close_connection", pid, "test: connection killed"],
            check=True, timeout=60,
        )  # fmt: skip
    return len(pids)


def test_a_send_after_the_connection_was_killed_lands(
    broker: LoomRabbitmqBroker, broker_url: str, drain_queue: Drain
) -> None:
    queue = f"k-{uuid.uuid4().hex[:10]}"
    first = send(queue, "somewhere.else", n=1).message_id
    vhost = broker_url.rsplit("/", 1)[1].replace("%2F", "/")
    assert _close_connections_of(vhost) >= 1
    time.sleep(0.5)
    second = send(queue, "somewhere.else", n=2).message_id
    landed = wait_until(lambda: drain_queue(queue), message="both messages")
    assert sorted(m["message_id"] for m in landed) == sorted([first, second])
