"""Log records per second end to end (published to RabbitMQ -> stored -> searchable), against
the raw rate of inserting the same rows into the same kind of store, in the same run.

End to end: the logs consumer runs as service.toml declares it (dramatiq, 1 process x 4
threads) on a fresh SQLite database with its FTS5 index; this process publishes every batch
(500 records, as the shipper sends) to the ``logs`` queue of a temporary vhost, and the clock
stops when the last record is counted and found by a full-text search. Raw: the same rows,
already parsed, inserted in the same batches into another fresh database of the same schema.

    python bench/logs_ingest.py [--records 200000] [--batch 500]

Goal (issue 5): >= 30,000 records/s end to end and >= 0.6 of raw.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from loom_common.broker import send, setup_broker
from loom_common.contracts import LOGS_ACTOR, LOGS_QUEUE
from loom_common.db import Database
from loom_common.manifest import REPO_ROOT, load_manifest
from loom_common.migrations import upgrade
from loom_common.settings import load_settings
from loom_common.testing import temporary_vhost, wait_until
from loom_logs.search.query import LogFilter, search_records
from loom_logs.store.insert import insert_rows
from loom_logs.store.partitions import day_of_id, first_id_of, tables_between
from loom_logs.store.records import parse_record

BIN = Path(sys.executable).parent
WORDS = [
    "user",
    "order",
    "payment",
    "cache",
    "broker",
    "retry",
    "timeout",
    "connection",
    "queue",
    "session",
    "token",
]
SERVICES = ["web", "worker", "errors", "logs"]


def make_records(count: int, marker: str) -> list[dict[str, Any]]:
    rng = random.Random(5)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    records = []
    for n in range(count):
        words = " ".join(rng.choices(WORDS, k=6))
        records.append(
            {
                "time": (start + timedelta(milliseconds=n)).isoformat(),
                "level": rng.choice(["DEBUG", "INFO", "INFO", "WARNING", "ERROR"]),
                "message": f"{words} {n}",
                "service": rng.choice(SERVICES),
                "env": "bench",
                "host": "bench-host",
                "logger": "bench.module",
                "function": "handler",
                "line": 42,
                "process": 1234,
                "thread": "MainThread",
                "request_id": f"req-{n // 10}",
                "exception": None,
                "fields": {"user": n % 1000},
            }
        )
    records[-1]["message"] = f"the last one {marker}"
    return records


def raw_rate(url: str, records: list[dict[str, Any]], batch: int) -> float:
    upgrade("logs", url)
    database = Database(url)
    rows = [parse_record(record) for record in records]
    started = time.perf_counter()
    for offset in range(0, len(rows), batch):
        with database.session() as session:
            insert_rows(session, rows[offset : offset + batch])
    elapsed = time.perf_counter() - started
    database.dispose()
    return len(rows) / elapsed


def end_to_end_rate(
    var_dir: Path, broker_url: str, records: list[dict[str, Any]], batch: int, marker: str
) -> float:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LOOM_SERVICE": "logs",
        "LOOM_ENV": "test",
        "LOOM_BROKER_URL": broker_url,
        "LOOM_VAR_DIR": str(var_dir),
        "LOOM_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "metrics"),
    }
    (var_dir / "metrics").mkdir(parents=True)
    settings = load_settings("logs", var_dir=var_dir, broker_url=broker_url, env="test")
    url = settings.database_url("logs")
    upgrade("logs", url)
    setup_broker(settings)
    database = Database(url)
    manifest = load_manifest(REPO_ROOT / "services" / "logs" / "service.toml")
    consumer = next(p for p in manifest.processes if p.kind == "consumer")
    process = subprocess.Popen(
        shlex.split(consumer.command), env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL
    )

    def stored() -> int:
        # From the highest id of each day, not count(*): the same on fresh tables (a day's ids
        # count up from its first id), and it costs no scan that would steal CPU from the
        # consumer being measured.
        with database.session() as session:
            total = 0
            for table in tables_between(session):
                highest = session.scalar(select(func.max(table.c.id)))
                day = day_of_id(highest) if highest else None
                total += highest - first_id_of(day) if highest and day else 0
            return total

    def searchable() -> bool:
        with database.session() as session:
            return bool(search_records(session, LogFilter(text=marker), limit=1).records)

    try:
        send(LOGS_QUEUE, LOGS_ACTOR, records=records[:1])  # the consumer is up and warm
        wait_until(lambda: stored() == 1, timeout=60, message="the consumer to start")
        started = time.perf_counter()
        for offset in range(1, len(records), batch):
            send(LOGS_QUEUE, LOGS_ACTOR, records=records[offset : offset + batch])
        published = time.perf_counter() - started
        wait_until(lambda: stored() == len(records), timeout=600, interval=0.05)
        wait_until(searchable, timeout=60, interval=0.05)
        elapsed = time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        database.dispose()
    print(
        f"published {len(records) - 1} records in {published:.1f}s ({(len(records) - 1) / published:,.0f}/s)"
    )
    return (len(records) - 1) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    marker = f"marker{random.randrange(10**9)}"
    records = make_records(args.records, marker)
    with temporary_vhost() as broker_url, tempfile.TemporaryDirectory() as scratch:
        raw = raw_rate(f"sqlite:///{scratch}/raw.db", records, args.batch)
        e2e = end_to_end_rate(Path(scratch) / "var", broker_url, records, args.batch, marker)
    print(f"records: {args.records}, batches of {args.batch}, SQLite with the FTS5 index")
    print(f"raw insert      : {raw:10,.0f} records/s")
    print(f"end to end      : {e2e:10,.0f} records/s  (goal >= 30,000)")
    print(f"ratio (e2e/raw) : {e2e / raw:10.3f}  (goal >= 0.6)")


if __name__ == "__main__":
    main()
