"""The log shipper: batches, a bounded buffer that counts what it drops, retries while the
broker is down, never blocks the caller, honours shipping_paused, carries the request id."""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger
from prometheus_client import REGISTRY

from loom_common import log_setup
from loom_common.broker import LoomRabbitmqBroker
from loom_common.log_setup import configure_logging, log_structured
from loom_common.log_shipping import LogShipper, shipping_paused
from loom_common.log_spool import LogSpool
from loom_common.request_context import request_id_var
from loom_common.runtime import publish_log_batch
from loom_common.settings import Settings
from loom_common.testing import wait_until

Batch = list[dict[str, Any]]


class FakePublish:
    """Stands in for the broker: records every batch it accepted; can be made to fail or hang."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.attempts = 0
        self.broker_up = threading.Event()
        self.broker_up.set()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, records: Batch) -> None:
        self.attempts += 1
        self.entered.set()
        self.release.wait()
        if not self.broker_up.is_set():
            raise ConnectionError("broker is down")
        self.batches.append(records)

    @property
    def messages(self) -> list[str]:
        return [record["message"] for batch in self.batches for record in batch]


@pytest.fixture
def publish() -> Iterator[FakePublish]:
    fake = FakePublish()
    yield fake
    fake.release.set()
    fake.broker_up.set()


@pytest.fixture
def ship() -> Iterator[Callable[..., tuple[LogShipper, Any]]]:
    """Adds a LogShipper as a loguru sink for records bound to this test only; yields
    ``(shipper, log)`` where ``log`` is the bound logger."""
    added: list[tuple[int, LogShipper]] = []

    def start(publish: Callable[[Batch], None], **options: Any) -> tuple[LogShipper, Any]:
        mark = uuid.uuid4().hex
        shipper = LogShipper(f"test-{mark[:8]}", publish, **options)
        handler_id = logger.add(
            shipper,
            format="{message}",
            filter=lambda record: record["extra"].get("shipping_test") == mark,
            catch=True,
        )
        added.append((handler_id, shipper))
        return shipper, logger.bind(shipping_test=mark)

    yield start
    for handler_id, shipper in added:
        logger.remove(handler_id)
        shipper.close()


def _dropped(service: str) -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name != "loom_log_records_dropped":
            continue
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("service") == service:
                total += sample.value
    return total


def test_records_go_out_in_batches_of_at_most_batch_size(
    ship: Callable[..., tuple[LogShipper, Any]], publish: FakePublish
) -> None:
    shipper, log = ship(publish, batch_size=3, interval=0.05)
    for number in range(10):
        log.info("record {}", number)

    wait_until(lambda: len(publish.messages) == 10, message="all 10 records shipped")
    assert publish.messages == [f"record {number}" for number in range(10)]
    assert all(1 <= len(batch) <= 3 for batch in publish.batches), publish.batches
    assert shipper.pending == 0


def test_a_full_batch_is_shipped_without_waiting_for_the_interval(
    ship: Callable[..., tuple[LogShipper, Any]], publish: FakePublish
) -> None:
    _shipper, log = ship(publish, batch_size=4, interval=600)
    for number in range(4):
        log.info("record {}", number)

    wait_until(lambda: len(publish.messages) == 4, timeout=5, message="the full batch shipped")
    assert [len(batch) for batch in publish.batches] == [4]


def test_shipped_records_follow_the_logs_ingest_contract(
    ship: Callable[..., tuple[LogShipper, Any]], publish: FakePublish
) -> None:
    _shipper, log = ship(publish, batch_size=1, interval=0.05)
    try:
        raise ValueError("bad input")
    except ValueError:
        log.bind(order_id=42).exception("order failed")

    record = wait_until(lambda: publish.batches and publish.batches[0][0])
    assert record["message"] == "order failed"
    assert record["level"] == "ERROR"
    assert record["fields"]["order_id"] == 42
    assert "ValueError: bad input" in record["exception"]
    assert record["time"].endswith("+00:00")


def test_a_full_buffer_drops_and_counts_exactly_what_it_dropped(
    ship: Callable[..., tuple[LogShipper, Any]], publish: FakePublish
) -> None:
    publish.release.clear()  # the broker hangs: nothing leaves the buffer
    shipper, log = ship(publish, batch_size=2, interval=0.05, capacity=5)
    before = _dropped(shipper.service)

    for number in range(8):
        log.info("record {}", number)

    assert shipper.pending == 5
    assert _dropped(shipper.service) - before == 3

    publish.release.set()
    wait_until(lambda: len(publish.messages) == 5, message="the buffered records shipped")
    assert publish.messages == [f"record {number}" for number in range(5)]
    assert _dropped(shipper.service) - before == 3


def test_nothing_is_lost_while_the_broker_is_down(
    ship: Callable[..., tuple[LogShipper, Any]], publish: FakePublish
) -> None:
    publish.broker_up.clear()
    shipper, log = ship(publish, batch_size=2, interval=0.05, capacity=100)
    before = _dropped(shipper.service)

    for number in range(3):
        log.info("record {}", number)
    wait_until(lambda: publish.attempts >= 2, message="the shipper to try (and fail) twice")
    for number in range(3, 6):
        log.info("record {}", number)
    assert publish.messages == []
    assert shipper.pending == 6

    publish.broker_up.set()
    wait_until(lambda: len(publish.messages) == 6, timeout=15, message="all records shipped")
    assert publish.messages == [f"record {number}" for number in range(6)]  # no gap, no repeat
    assert _dropped(shipper.service) == before


def test_logging_never_blocks_while_publish_hangs(
    ship: Callable[..., tuple[LogShipper, Any]], publish: FakePublish
) -> None:
    publish.release.clear()
    shipper, log = ship(publish, batch_size=1, interval=0.05)
    log.info("first")
    wait_until(publish.entered.is_set, message="publish to be called (and hang)")

    logging_done = threading.Event()

    def log_more() -> None:
        for number in range(50):
            log.info("while stuck {}", number)
        logging_done.set()

    caller = threading.Thread(target=log_more, daemon=True)
    caller.start()
    assert logging_done.wait(timeout=5), "a log call blocked on a stuck publish"
    assert shipper.pending == 51

    publish.release.set()
    wait_until(lambda: len(publish.messages) == 51, message="all records shipped once released")


def test_records_logged_while_shipping_is_paused_are_not_shipped(
    ship: Callable[..., tuple[LogShipper, Any]], publish: FakePublish
) -> None:
    shipper, log = ship(publish, batch_size=10, interval=0.05)
    token = shipping_paused.set(True)
    try:
        log.info("storing a batch")
    finally:
        shipping_paused.reset(token)
    log.info("after the pause")

    assert shipper.flush(timeout=5)
    assert publish.messages == ["after the pause"]


def test_records_carry_the_current_request_id(
    make_settings: Callable[..., Settings],
    publish: FakePublish,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The process-wide logging set-up, as every service gets it (it runs once per process).
    monkeypatch.setitem(log_setup._state, "pid", None)
    shipper = configure_logging(
        make_settings("web", migrate=False, log_ship_interval=0.05), publish=publish
    )
    assert shipper is not None
    try:
        token = request_id_var.set("req-1234")
        try:
            logger.info("inside the request")
        finally:
            request_id_var.reset(token)
        logger.info("outside any request")
        assert shipper.flush(timeout=5)
    finally:
        shipper.close()
        logger.remove()
        logger.add(sys.stderr)

    shipped = {
        record["message"]: record for record in itertools.chain.from_iterable(publish.batches)
    }
    assert shipped["inside the request"]["request_id"] == "req-1234"
    assert shipped["inside the request"]["service"] == "web"
    assert shipped["outside any request"]["request_id"] is None


def test_records_reach_the_logs_queue_through_the_real_broker(
    broker: LoomRabbitmqBroker,
    drain_queue: Callable[[str], list[dict[str, Any]]],
    ship: Callable[..., tuple[LogShipper, Any]],
) -> None:
    shipper, log = ship(publish_log_batch, batch_size=2, interval=0.05)
    marker = uuid.uuid4().hex
    for number in range(3):
        log.bind(marker=marker).info("through rabbit {}", number)
    assert shipper.flush(timeout=10)

    found: list[dict[str, Any]] = []

    def ours() -> bool:
        for message in drain_queue("logs"):
            assert message["actor_name"] == "logs.ingest"
            found.extend(
                r for r in message["kwargs"]["records"] if r["fields"].get("marker") == marker
            )
        return len(found) == 3

    wait_until(ours, message="the three records in the logs queue")
    assert [record["message"] for record in found] == [f"through rabbit {n}" for n in range(3)]


def test_the_shipping_thread_survives_a_failure_outside_publish(
    ship: Callable[..., tuple[LogShipper, Any]],
    publish: FakePublish,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish.broker_up.clear()
    shipper, log = ship(publish, batch_size=2, interval=0.05, spool_dir=tmp_path)
    for number in range(4):
        log.info("record {}", number)
    wait_until(lambda: shipper.spooled_bytes > 0, message="the records to be spooled")

    # The spool's file fails to read once (say another process moved it): the thread goes on.
    real_peek = LogSpool.peek
    failures = iter([OSError("spool file vanished")])

    def peek_failing_once(spool: LogSpool) -> Any:
        for failure in failures:
            raise failure
        return real_peek(spool)

    monkeypatch.setattr(LogSpool, "peek", peek_failing_once)
    publish.broker_up.set()
    wait_until(lambda: len(publish.messages) == 4, timeout=15, message="all records shipped")
    assert publish.messages == [f"record {number}" for number in range(4)]
    log.info("after the failure")
    wait_until(lambda: "after the failure" in publish.messages, message="shipping to go on")


@pytest.mark.parametrize("spooling", [False, True])
def test_a_batch_whose_confirm_was_lost_is_sent_again_unchanged(
    ship: Callable[..., tuple[LogShipper, Any]], tmp_path: Path, spooling: bool
) -> None:
    taken: list[Batch] = []
    lose_confirm = threading.Event()
    lose_confirm.set()

    def publish(records: Batch) -> None:
        taken.append(list(records))  # the broker has it...
        if lose_confirm.is_set():
            lose_confirm.clear()
            raise ConnectionError("connection lost before the confirm")  # ...the client can't know

    options: dict[str, Any] = {"spool_dir": tmp_path} if spooling else {}
    _shipper, log = ship(publish, batch_size=10, interval=0.05, **options)
    for number in range(3):
        log.info("record {}", number)
    wait_until(lambda: len(taken) >= 1, message="a first attempt")
    for number in range(3, 6):  # logged while the first batch is in doubt
        log.info("record {}", number)

    def sent() -> list[str]:
        return [record["message"] for batch in taken for record in batch]

    wait_until(lambda: sent().count("record 5") == 1, timeout=15, message="everything sent")
    # The batch in doubt went again exactly as it was, so the logs service sees a repeat.
    assert taken[0] == taken[1]
    assert [record["message"] for record in taken[0]] == ["record 0", "record 1", "record 2"]
    assert sent()[6:] == [f"record {number}" for number in range(3, 6)]


@pytest.mark.parametrize("json_logs", [False, True])
def test_secrets_are_scrubbed_from_what_reaches_stdout_and_the_logs_service(
    make_settings: Callable[..., Settings],
    publish: FakePublish,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    json_logs: bool,
) -> None:
    monkeypatch.setitem(log_setup._state, "pid", None)
    log_format = "json" if json_logs else "human"
    settings = make_settings("web", migrate=False, log_ship_interval=0.05, log_format=log_format)
    assert settings.json_logs is json_logs
    shipper = configure_logging(settings, publish=publish)
    assert shipper is not None
    try:
        logger.bind(api_key="key-secret-1", path="/export?token=tok-secret-2").info(
            "calling with Authorization: Bearer bearer-secret-3"
        )
        # A third party's line through stdlib logging, as Dramatiq writes its failures.
        logging.getLogger("dramatiq.worker").error(
            "Failed to process message %s", "send(password='pw-secret-4')"
        )
        log_structured(
            "INFO",
            lambda: "GET /password/reset/Xy9_kP2-qLm4Rt7sVw1zAb3cDe5fGh8jKn0oPq6uIy 200",
            "access",
            lambda: {"path": "/login?next=/&token=tok-secret-5", "status": 200},
        )
        assert shipper.flush(timeout=5)
    finally:
        shipper.close()
        logger.remove()
        logger.add(sys.stderr)

    shipped = list(itertools.chain.from_iterable(publish.batches))
    assert [record["message"] for record in shipped] == [
        "calling with Authorization: Bearer [Filtered]",
        "Failed to process message send(password='[Filtered]')",
        "GET /password/reset/[Filtered] 200",
    ]
    assert shipped[0]["fields"] == {"api_key": "[Filtered]", "path": "/export?token=[Filtered]"}
    assert shipped[2]["fields"] == {"path": "/login?next=/&token=[Filtered]", "status": 200}
    stdout = capfd.readouterr().out
    assert "Bearer [Filtered]" in stdout
    for secret in ("key-secret-1", "tok-secret-2", "bearer-secret-3", "pw-secret-4", "Xy9_kP2"):
        assert secret not in repr(shipped), secret
        assert secret not in stdout, secret
