"""Faults of the consumer, run as service.toml declares it (a real ``dramatiq`` process).

- Killed (SIGKILL) in the middle of a batch: no event is lost, none is counted twice.
- Stopped while Loom's services keep raising: every event arrives once it is back.

Each test has its own RabbitMQ vhost (no other test's messages) and its own database.
"""

from __future__ import annotations

import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dramatiq
import pika
import pytest
import sentry_sdk
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from loom_common.broker import LoomRabbitmqBroker
from loom_common.contracts import ERRORS_ACTOR, ERRORS_QUEUE
from loom_common.db import Database
from loom_common.error_capture import BrokerTransport
from loom_common.manifest import load_manifest
from loom_common.migrations import upgrade
from loom_common.settings import Settings
from loom_common.testing import temporary_postgres_database, temporary_vhost, wait_until
from loom_errors.models import Event, Issue
from loom_errors.store.events import ingest

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICE_TOML = REPO_ROOT / "services" / "errors" / "service.toml"
BIN = Path(sys.executable).parent
# "Stopped for a minute" in the issue; ten seconds here keep the suite short.
OUTAGE_SECONDS = 10


class Consumer:
    """The consumer process of service.toml, started and stopped by its process id."""

    def __init__(self, broker_url: str, database_url: str, var_dir: Path) -> None:
        command = next(p for p in load_manifest(SERVICE_TOML).processes if p.kind == "consumer")
        self.argv = shlex.split(command.command)
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "LOOM_SERVICE": "errors",
            "LOOM_ENV": "test",
            "LOOM_BROKER_URL": broker_url,
            "LOOM_VAR_DIR": str(var_dir),
            "LOOM_ERRORS_DATABASE_URL": database_url,
            "LOOM_SHIP_LOGS": "false",
            "LOOM_CAPTURE_ERRORS": "false",
            "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "metrics"),
        }
        (var_dir / "metrics").mkdir(parents=True, exist_ok=True)
        self.log_path = var_dir / "consumer.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        # Its own session: the dramatiq parent and its worker process form one group to kill.
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """SIGTERM: Dramatiq finishes (and acks) what it holds, then exits."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


class Publisher:
    """Publishes to the errors queue of one vhost, as Loom's services do (persistent, confirmed)."""

    def __init__(self, broker_url: str) -> None:
        self.broker_url = broker_url
        self.broker = LoomRabbitmqBroker(url=broker_url, confirm_delivery=True)
        self.broker.declare_queue(ERRORS_QUEUE, ensure=True)

    def publish(self, event: dict[str, Any]) -> None:
        self.broker.enqueue(
            dramatiq.Message(
                queue_name=ERRORS_QUEUE,
                actor_name=ERRORS_ACTOR,
                args=(),
                kwargs={"event": event},
                options={},
            )
        )

    def waiting(self) -> int:
        """Messages ready in the queue, not yet delivered to a consumer (live, not sampled)."""
        connection = pika.BlockingConnection(pika.URLParameters(self.broker_url))
        try:
            declared = connection.channel().queue_declare(ERRORS_QUEUE, passive=True)
            return int(declared.method.message_count)
        finally:
            connection.close()

    def close(self) -> None:
        self.broker.close()


@contextmanager
def isolated_consumer(
    database_url: str, var_dir: Path
) -> Iterator[tuple[Consumer, Publisher, Database]]:
    with temporary_vhost() as broker_url:
        consumer = Consumer(broker_url, database_url, var_dir)
        publisher = Publisher(broker_url)
        database = Database(database_url)
        try:
            yield consumer, publisher, database
        finally:
            consumer.stop()
            publisher.close()
            database.dispose()


def counted(database: Database) -> int:
    """Events counted on issues (what a double count would inflate)."""
    with database.session() as session:
        return int(session.scalar(select(func.coalesce(func.sum(Issue.count), 0))) or 0)


def stored_ids(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(Event.event_id)))


def until_drained(consumer: Consumer, publisher: Publisher) -> None:
    """Nothing left in the queue, then a graceful stop: whatever was delivered is done."""
    wait_until(lambda: publisher.waiting() == 0, timeout=60, message="the errors queue drained")
    consumer.stop()


def failing_call(bug: int, value: int) -> None:
    raise [ValueError, KeyError, RuntimeError, LookupError][bug](f"order {value} failed")


def occurrence(sentry_events: Any, number: int) -> dict[str, Any]:
    """One of four bugs (kept apart from any list of events: sentry-sdk records locals)."""
    try:
        failing_call(number % 4, number)
    except Exception as error:
        event: dict[str, Any] = sentry_events.exception(error)
    return event


def occurrences(sentry_events: Any, count: int) -> list[dict[str, Any]]:
    return [occurrence(sentry_events, number) for number in range(count)]


@contextmanager
def sqlite_write_lock(database_url: str) -> Iterator[None]:
    """Hold SQLite's write lock: a consumer's batch blocks at its first write, uncommitted."""
    connection = sqlite3.connect(make_url(database_url).database or "", timeout=10)
    connection.isolation_level = None
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def test_a_consumer_killed_mid_batch_loses_no_event_and_counts_none_twice(
    make_settings: Callable[..., Settings], sentry_events: Any, tmp_path: Path
) -> None:
    settings = make_settings("errors", ship_logs=False, capture_errors=False)
    url = settings.database_url("errors")
    events = occurrences(sentry_events, 200)
    before_kill, after_lock = events[:100], events[100:]
    with isolated_consumer(url, tmp_path / "consumer") as (consumer, publisher, database):
        # A batch committed just before a crash whose acks never left: these come back.
        for event in before_kill[:20]:
            ingest(database, event)
        consumer.start()
        for event in before_kill:
            publisher.publish(event)
        wait_until(lambda: counted(database) == 100, timeout=60, message="the first 100 stored")

        with sqlite_write_lock(url):
            for event in after_lock:
                publisher.publish(event)
            # Taken off the queue but not stored (nothing can commit): a batch is in flight.
            wait_until(
                lambda: publisher.waiting() + len(stored_ids(database)) < len(events),
                timeout=30,
                message="the consumer holding undelivered-to-the-database events",
            )
            assert counted(database) == 100
            consumer.kill()

        consumer.start()
        wait_until(lambda: counted(database) >= 200, timeout=60, message="all 200 stored")
        until_drained(consumer, publisher)

        assert counted(database) == 200
        assert sorted(stored_ids(database)) == sorted(event["event_id"] for event in events)
        with database.session() as session:
            assert sorted(session.scalars(select(Issue.count))) == [50, 50, 50, 50]


def raise_and_report(client: sentry_sdk.Client, bug: int, value: int) -> None:
    """What a Loom service does when a request fails: sentry-sdk captures, the broker carries."""
    with sentry_sdk.new_scope() as scope:
        scope.set_client(client)
        scope.set_tag("service", "web")
        try:
            failing_call(bug, value)
        except Exception as error:
            sentry_sdk.capture_exception(error)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    with temporary_postgres_database() as url:
        upgrade("errors", url)
        yield url


def test_events_raised_while_the_consumer_is_stopped_all_arrive_when_it_returns(
    postgres_database: str, tmp_path: Path
) -> None:
    with isolated_consumer(postgres_database, tmp_path / "consumer") as (
        consumer,
        publisher,
        database,
    ):
        transport = BrokerTransport("web", publisher.publish)
        client = sentry_sdk.Client(transport=transport, default_integrations=False)
        consumer.start()
        raise_and_report(client, 0, 0)
        wait_until(lambda: counted(database) == 1, timeout=60, message="the consumer up")

        consumer.stop()
        deadline = time.monotonic() + OUTAGE_SECONDS
        raised = 0
        while time.monotonic() < deadline:  # the services keep failing through the outage
            raised += 1
            raise_and_report(client, raised % 4, raised)
            time.sleep(0.25)
        client.flush(timeout=10)
        assert publisher.waiting() == raised  # all queued, none stored
        assert counted(database) == 1

        consumer.start()
        wait_until(lambda: counted(database) == raised + 1, timeout=60, message="all arrived")
        until_drained(consumer, publisher)

        assert counted(database) == raised + 1
        assert len(stored_ids(database)) == raised + 1
        client.close(timeout=5)
