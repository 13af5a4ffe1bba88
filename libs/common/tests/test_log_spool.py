"""The shipper's spool: while the broker is unreachable, batches go to a file on disk and are
replayed in order when it returns, exactly once; a full spool drops and counts; a restarted
process replays what its previous run left; files of live processes are left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dramatiq
import pika
import pytest
from prometheus_client import REGISTRY

from loom_common.broker import LoomRabbitmqBroker, OrjsonEncoder
from loom_common.contracts import LOGS_ACTOR, LOGS_QUEUE
from loom_common.log_shipping import LogShipper
from loom_common.log_spool import LogSpool
from loom_common.testing import temporary_vhost, wait_until

Batch = list[dict[str, Any]]
SRC = Path(__file__).resolve().parents[1] / "src"


class Broker:
    """Stands in for the broker where the test is about the spool, not about RabbitMQ."""

    def __init__(self) -> None:
        self.up = threading.Event()
        self.up.set()
        self.batches: list[Batch] = []

    def __call__(self, records: Batch) -> None:
        if not self.up.is_set():
            raise ConnectionError("broker is down")
        self.batches.append(records)

    @property
    def messages(self) -> list[str]:
        return [record["message"] for batch in self.batches for record in batch]


@pytest.fixture
def start_shipper() -> Iterator[Callable[..., LogShipper]]:
    started: list[LogShipper] = []

    def start(publish: Callable[[Batch], None], service: str = "", **options: Any) -> LogShipper:
        shipper = LogShipper(service or f"spool-{uuid.uuid4().hex[:8]}", publish, **options)
        started.append(shipper)
        return shipper

    yield start
    for shipper in started:
        shipper.close()


def dropped(service: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "loom_log_records_dropped_total", {"service": service, "reason": reason}
    )
    return value or 0.0


def spool_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def queued_records(url: str, queue: str) -> list[dict[str, Any]]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        records = []
        while True:
            _method, _properties, body = channel.basic_get(queue, auto_ack=True)
            if body is None:
                return records
            message = OrjsonEncoder().decode(body)
            assert message["actor_name"] == LOGS_ACTOR
            records.extend(message["kwargs"]["records"])
    finally:
        connection.close()


def test_records_logged_while_the_broker_is_unreachable_arrive_exactly_once_in_order(
    tmp_path: Path, start_shipper: Callable[..., LogShipper]
) -> None:
    spool_dir = tmp_path / "spool"
    with temporary_vhost() as url:
        vhost = unquote(urlsplit(url).path.removeprefix("/"))
        broker = LoomRabbitmqBroker(url=url, confirm_delivery=True, middleware=[])
        broker.encoder = OrjsonEncoder()

        def publish(records: Batch) -> None:
            message: dramatiq.Message[Any] = dramatiq.Message(
                queue_name=LOGS_QUEUE,
                actor_name=LOGS_ACTOR,
                args=(),
                kwargs={"records": records},
                options={},
            )
            broker.enqueue(message)

        shipper = start_shipper(publish, batch_size=50, interval=0.05, spool_dir=spool_dir)
        try:
            shipper.put({"message": "before the outage"})
            assert shipper.flush(timeout=10)
            assert queued_records(url, LOGS_QUEUE)[0]["message"] == "before the outage"

            rabbitmqctl("delete_vhost", vhost)  # the broker is gone for this process
            for number in range(1_000):
                shipper.put({"message": f"record {number}"})
            wait_until(
                lambda: shipper.pending == 0 and shipper.spooled_bytes > 0,
                message="the records to be spooled to disk",
            )
            assert [name for name in spool_files(spool_dir) if name.endswith(".spool")] == [
                f"{shipper.service}-{os.getpid()}.spool"
            ]

            rabbitmqctl("add_vhost", vhost)
            rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
            wait_until(
                lambda: spool_files(spool_dir) == [],
                timeout=30,
                message="the spool replayed and removed",
            )
            arrived = [record["message"] for record in queued_records(url, LOGS_QUEUE)]
        finally:
            broker.close()

    assert arrived == [f"record {number}" for number in range(1_000)]
    assert dropped(shipper.service, "spool_full") == 0
    assert dropped(shipper.service, "buffer_full") == 0


def test_a_full_spool_keeps_the_oldest_records_and_counts_the_dropped_ones(
    tmp_path: Path, start_shipper: Callable[..., LogShipper]
) -> None:
    publish = Broker()
    publish.up.clear()
    shipper = start_shipper(
        publish, batch_size=5, interval=0.05, spool_dir=tmp_path, spool_max_bytes=2_000
    )
    for number in range(100):
        shipper.put({"message": f"record {number}"})
    wait_until(lambda: shipper.pending == 0, message="the buffer moved to the spool")
    assert 0 < shipper.spooled_bytes <= 2_000
    assert sum(path.stat().st_size for path in tmp_path.glob("*.spool")) <= 2_000

    publish.up.set()
    assert shipper.flush(timeout=20)
    kept = len(publish.messages)
    assert 0 < kept < 100
    assert publish.messages == [f"record {number}" for number in range(kept)]
    assert dropped(shipper.service, "spool_full") == 100 - kept
    assert spool_files(tmp_path) == []


CRASHING_RUN = """
import os, sys, time
sys.path.insert(0, {src!r})
from pathlib import Path
from loom_common.log_shipping import LogShipper

def broker_down(records):
    raise ConnectionError("broker is down")

shipper = LogShipper({service!r}, broker_down, batch_size=7, interval=0.05,
                     spool_dir=Path({spool!r}))
for number in range(40):
    shipper.put({{"message": f"record {{number}}"}})
deadline = time.monotonic() + 20
while (shipper.pending or not shipper.spooled_bytes) and time.monotonic() < deadline:
    time.sleep(0.02)
print("spooled", flush=True)
time.sleep(60)
"""


def test_a_restarted_process_replays_the_spool_its_killed_predecessor_left(
    tmp_path: Path, start_shipper: Callable[..., LogShipper]
) -> None:
    service = f"spool-{uuid.uuid4().hex[:8]}"
    script = textwrap.dedent(CRASHING_RUN).format(
        src=str(SRC), service=service, spool=str(tmp_path)
    )
    previous = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert previous.stdout is not None
        assert previous.stdout.readline().strip() == "spooled"
    finally:
        os.kill(previous.pid, signal.SIGKILL)
        previous.wait()
    assert spool_files(tmp_path) == [f"{service}-{previous.pid}.spool"]

    publish = Broker()
    shipper = start_shipper(publish, service=service, interval=0.05, spool_dir=tmp_path)
    shipper.put({"message": "after the restart"})
    assert shipper.flush(timeout=10)

    assert publish.messages == [f"record {n}" for n in range(40)] + ["after the restart"]
    assert spool_files(tmp_path) == []


def test_closing_while_the_broker_is_down_spools_the_buffer_for_the_next_run(
    tmp_path: Path, start_shipper: Callable[..., LogShipper]
) -> None:
    service = f"spool-{uuid.uuid4().hex[:8]}"
    publish = Broker()
    publish.up.clear()
    first = start_shipper(publish, service=service, interval=0.05, spool_dir=tmp_path)
    first.put({"message": "record 0"})
    wait_until(lambda: first.spooled_bytes > 0, message="the first batch spooled")
    first.put({"message": "record 1"})  # still in memory when the process stops
    first.close()
    assert first.pending == 0

    publish.up.set()
    second = start_shipper(publish, service=service, interval=0.05, spool_dir=tmp_path)
    second.put({"message": "record 2"})
    assert second.flush(timeout=10)
    assert publish.messages == ["record 0", "record 1", "record 2"]


def test_spool_files_of_live_processes_are_left_alone(
    tmp_path: Path, start_shipper: Callable[..., LogShipper]
) -> None:
    service = f"spool-{uuid.uuid4().hex[:8]}"
    live = tmp_path / f"{service}-{os.getppid()}.spool"
    live.write_bytes(b'[{"message": "belongs to a live process"}]\n')
    # A file with this very pid was left by an earlier run (a container restarts as pid 1).
    same_pid = tmp_path / f"{service}-{os.getpid()}.spool"
    same_pid.write_bytes(b'[{"message": "from the run before"}]\n')

    publish = Broker()
    shipper = start_shipper(publish, service=service, interval=0.05, spool_dir=tmp_path)
    shipper.put({"message": "now"})
    assert shipper.flush(timeout=10)

    assert publish.messages == ["from the run before", "now"]
    assert spool_files(tmp_path) == [live.name]


def test_a_replay_cut_short_resumes_after_the_last_published_batch(tmp_path: Path) -> None:
    service = f"spool-{uuid.uuid4().hex[:8]}"
    spool = LogSpool(tmp_path, service, max_bytes=10_000)
    for number in range(3):
        assert spool.append([{"message": f"batch {number}"}])
    assert spool.peek() == [{"message": "batch 0"}]
    spool.pop()  # batch 0 published; then the process dies
    spool.close()
    with (tmp_path / f"{service}-{os.getpid()}.spool").open("ab") as torn:
        torn.write(b'[{"message": "torn')  # a crash in the middle of a write

    before = dropped(service, "spool_unreadable")
    resumed = LogSpool(tmp_path, service, max_bytes=10_000)
    replayed = []
    while (batch := resumed.peek()) is not None:
        replayed.append(batch[0]["message"])
        resumed.pop()

    assert replayed == ["batch 1", "batch 2"]
    assert dropped(service, "spool_unreadable") - before == 1
    assert spool_files(tmp_path) == []
