"""Dramatiq's RabbitMQ broker, set up the same way in every Loom process.

Messages are persistent; failures retry with exponential backoff and jitter, then go to the
dead-letter queue (``<queue>.XQ``) with the reason (``options.traceback``) in the message.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

import dramatiq
import orjson
import pika
from dramatiq.brokers.rabbitmq import DEAD_MESSAGE_TTL, RabbitmqBroker, _RabbitmqConsumer
from dramatiq.common import xq_name
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from loguru import logger
from sqlalchemy.orm import Session

from loom_common.after_commit import after_commit
from loom_common.job_options import (
    DEFAULT_MAX_BACKOFF_MS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MIN_BACKOFF_MS,
    DEFAULT_TIME_LIMIT_MS,
)
from loom_common.metrics import MESSAGES_UNSENT
from loom_common.middleware import (
    DeadLetterReason,
    ErrorCapture,
    JobRunLog,
    RequestIdPropagation,
    ShippingPause,
)
from loom_common.outbox import outbox_of
from loom_common.request_context import new_request_id, request_id_var
from loom_common.settings import Settings


class OrjsonEncoder(dramatiq.Encoder):
    """Faster than the stdlib encoder, and tolerant: anything unknown is sent as ``str()``."""

    def encode(self, data: dict[str, Any]) -> bytes:
        return orjson.dumps(data, default=str)

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            decoded: dict[str, Any] = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise dramatiq.DecodeError("failed to decode message", data, error) from None
        return decoded


class _ReasonedDeadLetterConsumer(_RabbitmqConsumer):
    """Dead-letters a failed message with its options (traceback, retries) in the body.

    Dramatiq's own nack lets RabbitMQ dead-letter the original body, which loses the reason.
    Here the encoded message (whose options Retries has filled in) is published to the
    dead-letter queue and the delivery acked, in the consumer's connection thread.
    """

    def nack(self, message: Any) -> None:
        try:
            self.known_tags.remove(message._tag)
        except KeyError:
            self.logger.warning("Failed to nack message: not in known tags.")
            return
        message.options.setdefault("dead_letter_reason", _reason(message))
        body = message.encode()
        self.connection.add_callback_threadsafe(partial(self._dead_letter, message._tag, body))

    def _dead_letter(self, tag: int, body: bytes) -> None:
        self.channel.basic_publish(
            exchange="",
            routing_key=xq_name(self.queue_name),
            body=body,
            properties=pika.BasicProperties(delivery_mode=2),
        )
        self.channel.basic_ack(tag)


def _reason(message: Any) -> str:
    """Set by DeadLetterReason when an actor failed; otherwise a middleware refused it."""
    return "rejected by a middleware (age limit, time limit or a skipped message)"


QueueType = Literal["classic", "quorum"]


class LoomRabbitmqBroker(RabbitmqBroker):
    """Dramatiq's broker, declaring every queue (``q``, ``q.DQ``, ``q.XQ``) of ``queue_type``.

    Quorum queues are durable, never exclusive and take no ``x-max-priority``; Dramatiq
    declares its queues durable and non-exclusive already, so only priorities are refused.
    """

    def __init__(self, *, queue_type: QueueType = "classic", **options: Any) -> None:
        if queue_type not in ("classic", "quorum"):
            raise ValueError(f"queue_type must be classic or quorum, got {queue_type!r}")
        if queue_type == "quorum" and options.get("max_priority"):
            raise ValueError("quorum queues have no x-max-priority: leave max_priority unset")
        super().__init__(**options)
        self.queue_type = queue_type

    @property
    def consumer_class(self) -> type:
        return _ReasonedDeadLetterConsumer

    def _build_queue_arguments(self, queue_name: str) -> dict[str, Any]:
        arguments: dict[str, Any] = super()._build_queue_arguments(queue_name)
        arguments["x-queue-type"] = self.queue_type
        return arguments

    def _declare_xq_queue(self, queue_name: str) -> Any:
        # Dramatiq's own declaration, with the queue type added (quorum queues honour
        # x-message-ttl since RabbitMQ 3.10).
        return self.channel.queue_declare(
            queue=xq_name(queue_name),
            durable=True,
            arguments={"x-message-ttl": DEAD_MESSAGE_TTL, "x-queue-type": self.queue_type},
        )


def loom_middleware(service: str) -> list[dramatiq.Middleware]:
    """Ours first: after-hooks run in reverse, so ours see what Retries decided."""
    return [
        RequestIdPropagation(),
        ShippingPause(),
        JobRunLog(service),
        ErrorCapture(),
        DeadLetterReason(),
        AgeLimit(),
        # The house defaults: what a job leaves unset (loom_common.job_options).
        TimeLimit(time_limit=DEFAULT_TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(
            max_retries=DEFAULT_MAX_RETRIES,
            min_backoff=DEFAULT_MIN_BACKOFF_MS,
            max_backoff=DEFAULT_MAX_BACKOFF_MS,
        ),
        CurrentMessage(),
    ]


def setup_broker(settings: Settings) -> LoomRabbitmqBroker:
    """Create the broker for this process and make it Dramatiq's global broker."""
    dramatiq.set_encoder(OrjsonEncoder())
    # Publisher confirms: a send returns only once RabbitMQ has taken the message, so an
    # "accepted" answer never covers a message lost in a broker restart.
    broker = LoomRabbitmqBroker(
        url=settings.broker_url,
        queue_type=settings.queue_type,
        confirm_delivery=True,
        middleware=loom_middleware(settings.service or "loom"),
    )
    dramatiq.set_broker(broker)
    return broker


def _message(queue: str, actor_name: str, payload: dict[str, Any]) -> dramatiq.Message[Any]:
    return dramatiq.Message(
        queue_name=queue, actor_name=actor_name, args=(), kwargs=payload, options={}
    )


def send(queue: str, actor_name: str, **payload: Any) -> dramatiq.Message[Any]:
    """Publish one message for an actor that may live in another service.

    The request id of the current request or job travels in the message options.
    """
    return dramatiq.get_broker().enqueue(_message(queue, actor_name, payload))


class MessageNotSent(dramatiq.errors.BrokerConnectionError):
    """A message about rows already committed was not taken by the broker: the rows stay, the
    work the message asks for will not run. Counted in ``loom_messages_unsent_total``."""

    def __init__(self, message: dramatiq.Message[Any], cause: BaseException) -> None:
        super().__init__(
            f"message {message.message_id} ({message.actor_name} on {message.queue_name})"
            f" not sent after its rows were committed: {cause}"
        )
        self.message = message


def _publish_committed(message: dramatiq.Message[Any]) -> None:
    try:
        dramatiq.get_broker().enqueue(message)
    except Exception as error:
        MESSAGES_UNSENT.labels(queue=message.queue_name, actor=message.actor_name).inc()
        not_sent = MessageNotSent(message, error)
        logger.error("{}", not_sent)
        raise not_sent from error


def send_after_commit(
    session: Session, queue: str, actor_name: str, **payload: Any
) -> dramatiq.Message[Any]:
    """Like :func:`send`, for a message about rows written in ``session``: it is published
    once the session commits, and never if it rolls back. The message (and its id, to
    record) is returned at once.

    With an outbox attached to the session's database (loom_common.outbox), the message is
    written in the same transaction and a broker that is away only delays it. Without one,
    if the broker does not take it the commit raises :class:`MessageNotSent` (the rows are
    committed by then; web answers 503 saying so) and the loss is counted.
    """
    message = _message(queue, actor_name, payload)
    # Stamped now: the request id is that of the request that wrote the rows.
    message.options["request_id"] = request_id_var.get() or new_request_id()
    outbox = outbox_of(session)
    if outbox is not None:
        outbox.add(session, message)
        after_commit(session, partial(outbox.publish_committed, message))
    else:
        after_commit(session, partial(_publish_committed, message))
    return message
