"""Move every classic queue of a vhost to a quorum queue of the same name, losing no message.

    python -m loom_common.queue_migration   # LOOM_BROKER_URL names the vhost

A queue cannot change type in place. For each classic queue ``q``: its messages move to a
quorum queue ``q.migrating`` (each one published with a confirm, acked only after it), the
empty classic ``q`` is deleted and declared again as quorum with its other arguments, and the
messages move back. Interrupted at any step, a re-run picks up where it stopped (a message
may then be there twice; never lost). Run it with Loom's services stopped: a publisher still
declaring ``q`` as classic would race the swap.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlsplit
from urllib.request import Request, urlopen

import pika
from pika.adapters.blocking_connection import BlockingChannel

from loom_common.broker_urls import connect
from loom_common.settings import Settings

SUFFIX = ".migrating"


def _queues(settings: Settings) -> list[dict[str, Any]]:
    parts = urlsplit(settings.management_url)
    request = Request(
        f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api/queues/"
        + quote(settings.vhost, safe="")
    )
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urlopen(request, timeout=30) as response:
        queues: list[dict[str, Any]] = json.load(response)
    return queues


def _move(channel: BlockingChannel, source: str, target: str) -> int:
    """Every message of ``source`` onto ``target``: confirmed there before it is acked here."""
    moved = 0
    while True:
        method, properties, body = channel.basic_get(source, auto_ack=False)
        if method is None:
            return moved
        # Persistent, with the headers and ids it had (priority dropped: quorum has none).
        kept = pika.BasicProperties(
            delivery_mode=2,
            headers=properties.headers,
            content_type=properties.content_type,
            message_id=properties.message_id,
            timestamp=properties.timestamp,
        )
        channel.basic_publish("", target, body, kept, mandatory=True)
        channel.basic_ack(method.delivery_tag)
        moved += 1


def _confirming_channel(connection: pika.BlockingConnection) -> BlockingChannel:
    channel = connection.channel()
    channel.confirm_delivery()  # basic_publish returns once RabbitMQ has the message
    return channel


def _quorum(arguments: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in arguments.items() if k not in ("x-queue-type", "x-max-priority")}
    return {**kept, "x-queue-type": "quorum"}


def migrate(settings: Settings) -> dict[str, int]:
    """Queue name -> messages moved, for each queue migrated (or finished) this run."""
    queues = {queue["name"]: queue for queue in _queues(settings)}
    report: dict[str, int] = {}
    connection = connect(settings.broker_url)
    try:
        for name, queue in sorted(queues.items()):
            if name.endswith(SUFFIX):
                continue
            temporary = name + SUFFIX
            arguments = _quorum(queue.get("arguments") or {})
            if queue.get("type") != "quorum":
                channel = _confirming_channel(connection)
                channel.queue_declare(temporary, durable=True, arguments=arguments)
                _move(channel, name, temporary)
                channel.queue_delete(name, if_empty=True)
                channel.queue_declare(name, durable=True, arguments=arguments)
                channel.close()
            elif temporary not in queues:
                continue  # quorum already, nothing left over from an earlier run
            # A fresh channel: one that knew the classic queue fails on the quorum one of the
            # same name (RabbitMQ 3.10 closes the connection with INTERNAL_ERROR).
            channel = _confirming_channel(connection)
            report[name] = _move(channel, temporary, name)
            # Quorum queues refuse if_empty: count, and keep the queue if anything is left.
            if channel.queue_declare(temporary, passive=True).method.message_count == 0:
                channel.queue_delete(temporary)
            channel.close()
    finally:
        connection.close()
    return report


def main() -> None:
    for name, moved in migrate(Settings()).items():
        print(f"{name}: quorum, {moved} messages moved", flush=True)


if __name__ == "__main__":
    main()
