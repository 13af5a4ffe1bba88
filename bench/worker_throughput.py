"""No-op jobs per second through Loom's worker, against bare Dramatiq, in the same run.

Loom: the worker as service.toml runs it (``dramatiq loom_worker.actors --queues jobs``), so
every job gets Loom's middleware: its record in the worker's database (running, then
succeeded with its result), the request id, error capture and a shipped log record. The job
is ``greet`` (validated arguments, a small result), the closest thing to a no-op the worker
has. Bare: a plain ``RabbitmqBroker`` with Dramatiq's default middleware and a no-op actor
of the same name, started by the same ``dramatiq`` command from this very module.

Both run 2 processes x 8 threads on the same RabbitMQ (one temporary vhost each). A round
enqueues N messages first (each side with its own encoder: Loom's orjson, Dramatiq's JSON),
then starts the workers and times the drain: the clock starts when the queue first shrinks
(so start-up is not counted) and stops when no message is left ready. Rounds alternate
between the two sides and the figure is the median of the per-round ratios, so machine
noise hits both sides of a round alike. After each Loom round every job record must say
succeeded, and the log records shipped and dropped are read from the workers' metrics.

    python bench/worker_throughput.py [--messages 20000] [--rounds 3] [--database sqlite|postgresql|both]

Goal (issue 3): Loom >= 0.6 of bare Dramatiq.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pika
from dramatiq.brokers.rabbitmq import RabbitmqBroker

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
QUEUE = "jobs"
ACTOR = "greet"
PROCESSES, THREADS = 2, 8
PREFETCH = PROCESSES * THREADS * 2  # Dramatiq's default: twice the threads, per process
BARE_BROKER_URL_VARIABLE = "LOOM_BENCH_BARE_BROKER_URL"

# What the bare workers import (``dramatiq worker_throughput:bare_broker``): a plain broker
# and a no-op actor. Only when the bench starts them, so importing this module does nothing.
if os.environ.get(BARE_BROKER_URL_VARIABLE):
    bare_broker = RabbitmqBroker(url=os.environ[BARE_BROKER_URL_VARIABLE])
    dramatiq.set_broker(bare_broker)

    @dramatiq.actor(actor_name=ACTOR, queue_name=QUEUE, broker=bare_broker)
    def greet(name: str) -> None:
        return None


def worker_command(side: str) -> list[str]:
    threads = ["--processes", str(PROCESSES), "--threads", str(THREADS)]
    if side == "bare":
        return [
            str(BIN / "dramatiq"),
            "worker_throughput:bare_broker",
            "--path",
            str(HERE),
            *threads,
        ]
    return [str(BIN / "dramatiq"), "loom_worker.actors", "--queues", QUEUE, *threads]


def enqueue(broker_url: str, encoder: dramatiq.Encoder, count: int, request_ids: bool) -> None:
    """Publish ``count`` greet messages as Dramatiq does (persistent; confirms off: fast)."""
    dramatiq.set_encoder(encoder)
    publisher = RabbitmqBroker(url=broker_url, confirm_delivery=False, middleware=[])
    try:
        for number in range(count):
            options = {"request_id": f"bench-{number}"} if request_ids else {}
            publisher.enqueue(
                dramatiq.Message(
                    queue_name=QUEUE,
                    actor_name=ACTOR,
                    args=(),
                    kwargs={"name": f"bench {number}"},
                    options=options,
                )
            )
    finally:
        publisher.close()


class QueueDepth:
    """Messages ready in the queue, asked of RabbitMQ directly (the management API lags)."""

    def __init__(self, broker_url: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(broker_url))
        self.channel = self.connection.channel()

    def ready(self) -> int:
        return int(self.channel.queue_declare(QUEUE, passive=True).method.message_count)

    def close(self) -> None:
        self.connection.close()


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its children (the dramatiq worker processes)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # itself, or its parent is pid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as supervisor stops a worker: in-flight jobs finish, the rest go back."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def drain_rate(side: str, broker_url: str, env: dict[str, str]) -> tuple[float, float]:
    """Start the side's workers on a full queue; messages per second until none is ready,
    and the workers' CPU microseconds per message meanwhile."""
    depth = QueueDepth(broker_url)
    try:
        full = depth.ready()
        process = subprocess.Popen(
            worker_command(side),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            while (left := depth.ready()) == full:
                if process.poll() is not None:
                    raise SystemExit(f"the {side} workers exited with {process.returncode}")
                time.sleep(0.01)
            started, at_start = time.perf_counter(), left
            cpu_at_start = cpu_seconds(process.pid)
            while left:
                time.sleep(0.01)
                left = depth.ready()
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(process.pid) - cpu_at_start
        finally:
            stop(process)
        return at_start / elapsed, cpu / at_start * 1e6
    finally:
        depth.close()


@contextlib.contextmanager
def worker_database(kind: str, var_dir: Path) -> Iterator[str]:
    from loom_common.migrations import upgrade
    from loom_common.testing import temporary_postgres_database

    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{var_dir / 'worker.db'}"
        else:
            url = stack.enter_context(temporary_postgres_database())
        upgrade("worker", url)
        yield url


def succeeded_jobs(database_url: str) -> int:
    from sqlalchemy import func, select

    from loom_common.db import Database
    from loom_worker.models import Job

    database = Database(database_url)
    try:
        with database.session() as session:
            query = select(func.count()).select_from(Job).where(Job.status == "succeeded")
            return int(session.scalar(query) or 0)
    finally:
        database.dispose()


def at_least_succeeded(database_url: str, count: int) -> bool:
    return succeeded_jobs(database_url) >= count


def shipped_log_records(metrics_dir: Path) -> tuple[float, float]:
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    totals = {"loom_log_records_shipped": 0.0, "loom_log_records_dropped": 0.0}
    for metric in registry.collect():
        if metric.name in totals:
            totals[metric.name] += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return totals["loom_log_records_shipped"], totals["loom_log_records_dropped"]


def measure(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    from loom_common.broker import OrjsonEncoder
    from loom_common.testing import (
        DEPLOYED_API_TOKEN,
        DEPLOYED_SECRET_KEY,
        temporary_vhost,
        wait_until,
    )

    with (
        temporary_vhost() as bare_url,
        temporary_vhost() as loom_url,
        tempfile.TemporaryDirectory() as var,
        worker_database(kind, Path(var)) as database_url,
    ):
        metrics_dir = Path(var) / "metrics"
        metrics_dir.mkdir()
        bare_env = {**os.environ, BARE_BROKER_URL_VARIABLE: bare_url}
        loom_env = {
            **os.environ,
            "LOOM_ENV": "staging",  # production's shape: JSON logs, shipped; errors captured
            "LOOM_SECRET_KEY": DEPLOYED_SECRET_KEY,
            "LOOM_API_TOKEN": DEPLOYED_API_TOKEN,
            "LOOM_SERVICE": "worker",
            "LOOM_BROKER_URL": loom_url,
            "LOOM_VAR_DIR": var,
            "LOOM_WORKER_DATABASE_URL": database_url,
            "LOOM_LOG_FORMAT": "json",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        bare: list[float] = []
        loom: list[float] = []
        bare_cpu: list[float] = []
        loom_cpu: list[float] = []
        for round_number in range(1, args.rounds + 1):
            enqueue(bare_url, dramatiq.JSONEncoder(), args.messages, request_ids=False)
            rate, cpu = drain_rate("bare", bare_url, bare_env)
            bare.append(rate)
            bare_cpu.append(cpu)
            enqueue(loom_url, OrjsonEncoder(), args.messages, request_ids=True)
            rate, cpu = drain_rate("loom", loom_url, loom_env)
            loom.append(rate)
            loom_cpu.append(cpu)
            # Not timed: the records must end succeeded. Messages prefetched when the queue ran
            # dry go back to it on SIGTERM and run in the next round, hence the allowance.
            expected = round_number * args.messages - PREFETCH
            wait_until(
                functools.partial(at_least_succeeded, database_url, expected),
                timeout=60,
                message=f"{expected} succeeded job records",
            )
            print(
                f"  {kind} round {round_number}: bare {bare[-1]:.0f}/s "
                f"({bare_cpu[-1]:.0f} us CPU/msg), loom {loom[-1]:.0f}/s ({loom_cpu[-1]:.0f} us CPU/msg)"
            )
        records = succeeded_jobs(database_url)
        shipped, dropped = shipped_log_records(metrics_dir)
    ratio = statistics.median(ours / base for ours, base in zip(loom, bare, strict=True))
    return {"bare": bare, "loom": loom, "ratio": ratio, "records": records,
            "bare_cpu": statistics.median(bare_cpu), "loom_cpu": statistics.median(loom_cpu),
            "shipped": shipped, "dropped": dropped}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]

    print(
        f"{args.messages} no-op messages per round, {args.rounds} rounds, alternating; "
        f"{PROCESSES} processes x {THREADS} threads each side"
    )
    for kind in kinds:
        result = measure(kind, args)
        bare, loom = result["bare"], result["loom"]
        print(f"worker database: {kind}")
        print(
            f"  bare Dramatiq : {statistics.median(bare):7.0f} msg/s"
            f"  (rounds: {', '.join(f'{r:.0f}' for r in bare)});"
            f" {result['bare_cpu']:.0f} us CPU/msg"
        )
        print(
            f"  Loom worker   : {statistics.median(loom):7.0f} msg/s"
            f"  (rounds: {', '.join(f'{r:.0f}' for r in loom)});"
            f" {result['loom_cpu']:.0f} us CPU/msg"
        )
        print(
            f"  job records succeeded: {result['records']}, log records shipped: "
            f"{result['shipped']:.0f}, dropped: {result['dropped']:.0f}"
        )
        print(
            f"  ratio (Loom / bare), median of the per-round ratios: {result['ratio']:.3f}"
            "  (goal >= 0.6)"
        )


if __name__ == "__main__":
    main()
