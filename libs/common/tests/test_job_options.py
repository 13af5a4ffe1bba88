"""Retries, backoff and time limits resolve in Dramatiq's order: message, then actor, then the
house default (loom_common.job_options), with loom's own Retries middleware doing the work.

One actor on a StubBroker: what is under test is how the options resolve, not messaging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries, TimeLimit

from loom_common.broker import loom_middleware
from loom_common.job_options import DEFAULT_MAX_RETRIES, DEFAULTS, JobOptions, effective_options

FAST_BACKOFF = JobOptions(min_backoff_ms=1, max_backoff_ms=2)


@pytest.fixture
def broker() -> Iterator[StubBroker]:
    house = [m for m in loom_middleware("test") if isinstance(m, Retries | TimeLimit)]
    broker = StubBroker(middleware=house)
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    yield broker
    worker.stop()
    broker.close()


def _failing_actor(
    broker: StubBroker, name: str, options: JobOptions
) -> tuple[dramatiq.Actor[Any, Any], list[int]]:
    attempts: list[int] = []

    def fail() -> None:
        attempts.append(1)
        raise RuntimeError("always")

    fail.__name__ = name
    actor_options: dict[str, int] = options.actor_options()
    actor = dramatiq.actor(fail, actor_name=name, queue_name=name, broker=broker, **actor_options)
    return actor, attempts


def _attempts_of(
    broker: StubBroker, actor: dramatiq.Actor[Any, Any], attempts: list[int], **options: int
) -> int:
    message = actor.message_with_options(**options)
    broker.enqueue(message)
    broker.join(actor.queue_name, fail_fast=False)
    return len(attempts)


def test_a_message_option_overrides_the_actors_which_overrides_the_default(
    broker: StubBroker,
) -> None:
    unset, unset_attempts = _failing_actor(broker, "unset", FAST_BACKOFF)
    set_twice, twice_attempts = _failing_actor(
        broker, "set_twice", JobOptions(max_retries=2, min_backoff_ms=1, max_backoff_ms=2)
    )
    _, once_attempts = _failing_actor(
        broker, "set_twice_sent_once", JobOptions(max_retries=2, min_backoff_ms=1, max_backoff_ms=2)
    )
    sent_once = broker.get_actor("set_twice_sent_once")

    assert _attempts_of(broker, unset, unset_attempts) == 1 + DEFAULT_MAX_RETRIES
    assert _attempts_of(broker, set_twice, twice_attempts) == 1 + 2
    assert _attempts_of(broker, sent_once, once_attempts, max_retries=1) == 1 + 1


def test_effective_options_say_what_the_middleware_does(broker: StubBroker) -> None:
    unset, _ = _failing_actor(broker, "plain", JobOptions())
    limited, _ = _failing_actor(broker, "limited", JobOptions(max_retries=2, time_limit_ms=500))

    assert effective_options(unset.message(), unset) == DEFAULTS
    assert effective_options(limited.message(), limited) == JobOptions(
        max_retries=2,
        min_backoff_ms=DEFAULTS.min_backoff_ms,
        max_backoff_ms=DEFAULTS.max_backoff_ms,
        time_limit_ms=500,
    )
    from_message = limited.message_with_options(max_retries=0, time_limit=100)
    assert effective_options(from_message, limited).max_retries == 0  # 0 counts: no retry
    assert effective_options(from_message, limited).time_limit_ms == 100
