"""Classic queues with messages in a vhost -> queue_migration -> every queue quorum, the same
messages in each, none lost, and a Dramatiq consumer of quorum queues runs them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import dramatiq
import pytest
from test_quorum_queues import queue_types

from loom_common.broker import setup_broker
from loom_common.queue_migration import migrate
from loom_common.settings import Settings
from loom_common.testing import wait_until


@pytest.fixture
def broker_url(private_broker_url: str) -> str:
    """A vhost of its own: the migration turns every classic queue of its vhost to quorum."""
    return private_broker_url


def test_classic_queues_become_quorum_with_every_message(
    make_settings: Callable[..., Settings], broker_url: str
) -> None:
    queue = f"m-{uuid.uuid4().hex[:8]}"
    classic = setup_broker(make_settings("web", migrate=False))
    sent = []
    for n in range(50):
        message = dramatiq.Message(
            queue_name=queue, actor_name=f"count-{queue}", args=(), kwargs={"n": n}, options={}
        )
        sent.append(classic.enqueue(message).message_id)
    classic.close()
    assert queue_types(broker_url)[queue] == "classic"

    settings = make_settings("web", migrate=False, queue_type="quorum")
    assert migrate(settings)[queue] == 50
    assert migrate(settings) == {}  # a second run finds nothing to do
    types = queue_types(broker_url)
    assert {types[queue], types[f"{queue}.DQ"], types[f"{queue}.XQ"]} == {"quorum"}
    assert not [name for name in types if name.endswith(".migrating")]

    quorum = setup_broker(settings)
    seen: list[int] = []

    def count(n: int) -> None:
        seen.append(n)

    dramatiq.actor(count, actor_name=f"count-{queue}", queue_name=queue, broker=quorum)
    worker = dramatiq.Worker(quorum, queues={queue}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        wait_until(lambda: len(seen) >= 50, message="every migrated message to run")
        worker.join()
    finally:
        worker.stop()
        quorum.close()
    assert sorted(seen) == list(range(50))
