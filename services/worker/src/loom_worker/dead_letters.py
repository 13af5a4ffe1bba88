"""Dead letters of a queue (``<queue>.XQ``): put them back on the queue, or purge them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dramatiq
import pika
from dramatiq.common import xq_name
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker

from loom_common.broker_urls import connect

# What Retries and the dead-letter consumer wrote: a requeued message starts afresh.
_FAILURE_OPTIONS = ("retries", "traceback", "dead_letter_reason", "requeue_timestamp", "eta")


class UnknownQueue(LookupError):
    pass


@contextmanager
def _channel(broker_url: str) -> Iterator[BlockingChannel]:
    connection = connect(broker_url)
    try:
        yield connection.channel()
    finally:
        connection.close()


def _message_count(channel: BlockingChannel, queue: str) -> int:
    try:
        return int(channel.queue_declare(queue, passive=True).method.message_count)
    except ChannelClosedByBroker as error:
        if error.reply_code == 404:
            raise UnknownQueue(queue) from None
        raise


def _checked(broker_url: str, queue: str) -> None:
    if queue.endswith((".XQ", ".DQ")):
        raise UnknownQueue(queue)
    with _channel(broker_url) as channel:
        _message_count(channel, queue)


def _fresh_body(body: bytes) -> tuple[bytes, str | None]:
    """The message with its failure history removed, and its id (None if not Dramatiq's)."""
    encoder = dramatiq.get_encoder()
    try:
        data = encoder.decode(body)
    except dramatiq.DecodeError:
        return body, None
    options = data.get("options") or {}
    for option in _FAILURE_OPTIONS:
        options.pop(option, None)
    data["options"] = options
    return encoder.encode(data), data.get("message_id")


def requeue_dead_letters(
    broker_url: str, queue: str, before_publish: Callable[[str], None] = lambda _id: None
) -> int:
    """Move every dead letter present now back to ``queue``; how many moved.

    ``before_publish(message_id)`` runs before each is published (a worker may run it at
    once). Each is published with confirms before its dead letter is acked: a crash in
    between duplicates a message rather than losing it.
    """
    _checked(broker_url, queue)
    moved = 0
    with _channel(broker_url) as channel:
        channel.confirm_delivery()
        try:
            pending = _message_count(channel, xq_name(queue))
        except UnknownQueue:
            return 0
        # Only what was there when asked: a message that dies again meanwhile stays dead.
        for _ in range(pending):
            method, properties, body = channel.basic_get(xq_name(queue), auto_ack=False)
            if method is None:
                break
            fresh, message_id = _fresh_body(body)
            if message_id:
                before_publish(message_id)
            channel.basic_publish(
                exchange="",
                routing_key=queue,
                body=fresh,
                properties=pika.BasicProperties(
                    delivery_mode=2, priority=getattr(properties, "priority", None)
                ),
            )
            channel.basic_ack(method.delivery_tag)
            moved += 1
    return moved


def purge_dead_letters(broker_url: str, queue: str) -> int:
    """Drop every dead letter of ``queue``; how many there were."""
    _checked(broker_url, queue)
    with _channel(broker_url) as channel:
        try:
            _message_count(channel, xq_name(queue))
        except UnknownQueue:
            return 0
        return int(channel.queue_purge(xq_name(queue)).method.message_count)
