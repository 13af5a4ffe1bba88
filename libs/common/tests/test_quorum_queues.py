"""LOOM_QUEUE_TYPE=quorum: every queue Dramatiq declares for Loom (the queue, its ``.DQ`` delay
queue and its ``.XQ`` dead-letter queue) is a quorum queue, messages flow through it, and a dead
letter still carries its reason. Against the machine's RabbitMQ (one node), in a fresh vhost."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from urllib.request import Request, urlopen

import dramatiq
import pytest

from loom_common.broker import LoomRabbitmqBroker, send, setup_broker
from loom_common.settings import Settings
from loom_common.testing import wait_until

Drain = Callable[[str], list[dict[str, Any]]]


def queue_types(broker_url: str) -> dict[str, str]:
    """Name -> type of every queue of the URL's vhost, as RabbitMQ's management API says."""
    vhost = unquote(urlsplit(broker_url).path.lstrip("/"))
    request = Request(f"http://127.0.0.1:15672/api/queues/{quote(vhost, safe='')}")
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    with urlopen(request, timeout=10) as response:
        return {queue["name"]: queue["type"] for queue in json.load(response)}


@pytest.fixture
def broker_url(private_broker_url: str) -> str:
    """A vhost of its own: queues this module declares as quorum (the log shipper's ``logs``
    among them) must not meet the rest of the session's classic declarations."""
    return private_broker_url


@pytest.fixture
def quorum_broker(make_settings: Callable[..., Settings]) -> Iterator[LoomRabbitmqBroker]:
    broker = setup_broker(make_settings("web", migrate=False, queue_type="quorum"))
    yield broker
    broker.close()


@pytest.fixture
def queue() -> str:
    return f"qq-{uuid.uuid4().hex[:10]}"


def test_every_declared_queue_is_a_quorum_queue_and_messages_flow(
    quorum_broker: LoomRabbitmqBroker, queue: str, broker_url: str
) -> None:
    done: list[str] = []

    def greet(name: str) -> None:
        done.append(name)

    actor_name = f"greet-{queue}"
    dramatiq.actor(greet, actor_name=actor_name, queue_name=queue, broker=quorum_broker)
    send(queue, actor_name, name="now")
    # A delayed message goes through the .DQ queue.
    quorum_broker.enqueue(
        dramatiq.Message(
            queue_name=queue, actor_name=actor_name, args=(), kwargs={"name": "later"}, options={}
        ),
        delay=200,
    )

    types = queue_types(broker_url)
    assert {name: types.get(name) for name in (queue, f"{queue}.DQ", f"{queue}.XQ")} == {
        queue: "quorum",
        f"{queue}.DQ": "quorum",
        f"{queue}.XQ": "quorum",
    }

    worker = dramatiq.Worker(quorum_broker, queues={queue}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        wait_until(lambda: len(done) == 2, message="both messages to run")
    finally:
        worker.stop()
    assert sorted(done) == ["later", "now"]


def test_a_dead_letter_in_a_quorum_queue_keeps_its_reason(
    quorum_broker: LoomRabbitmqBroker, queue: str, drain_queue: Drain, broker_url: str
) -> None:
    def doomed(name: str) -> None:
        raise ValueError(f"no greeting for {name}")

    actor_name = f"doomed-{queue}"
    dramatiq.actor(
        doomed, actor_name=actor_name, queue_name=queue, broker=quorum_broker, max_retries=0
    )
    worker = dramatiq.Worker(quorum_broker, queues={queue}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        message = send(queue, actor_name, name="Bob")
        dead = wait_until(lambda: drain_queue(f"{queue}.XQ"), message="the dead-lettered message")
    finally:
        worker.stop()
    assert [m["message_id"] for m in dead] == [message.message_id]
    assert "ValueError: no greeting for Bob" in dead[0]["options"]["dead_letter_reason"]
    assert queue_types(broker_url)[f"{queue}.XQ"] == "quorum"


def test_the_default_stays_classic(broker: LoomRabbitmqBroker, queue: str, broker_url: str) -> None:
    broker.declare_queue(queue, ensure=True)
    assert queue_types(broker_url)[queue] == "classic"


def test_quorum_queues_refuse_priorities() -> None:
    with pytest.raises(ValueError, match="x-max-priority"):
        LoomRabbitmqBroker(
            url="amqp://guest:guest@127.0.0.1:1/%2F", queue_type="quorum", max_priority=5
        )
    with pytest.raises(ValueError, match="classic or quorum"):
        LoomRabbitmqBroker(url="amqp://guest:guest@127.0.0.1:1/%2F", queue_type="stream")  # type: ignore[arg-type]
