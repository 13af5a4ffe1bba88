"""Query latency over many stored log records: p95 of GET /api/logs for a full-text + service +
time-range query, and for a request-id lookup, through the app (validation, SQL, JSON).

The store is filled first with the same inserts the consumer makes (SQLite with a table and
FTS5 index per day by default, or PostgreSQL's day partitions with --postgres); then each query kind runs --queries times
with random words, services, one-hour windows and request ids, one at a time. The baseline
printed beside them is GET /healthz through the same app, so the figure is the query's own cost.

    python bench/logs_query.py [--records 1000000] [--queries 300] [--postgres]

Goal (issue 5): p95 < 100 ms for both queries over 1,000,000 records.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loom_common.db import Database
from loom_common.migrations import upgrade
from loom_common.settings import DEFAULT_API_TOKEN, load_settings
from loom_common.testing import temporary_postgres_database, temporary_vhost
from loom_logs.app import create_app
from loom_logs.store.insert import insert_rows
from loom_logs.store.levels import level_number

SERVICES = ["web", "worker", "errors", "logs"]
WORDS = ["user", "order", "payment", "cache", "broker", "retry", "timeout", "connection", "queue"]

START = datetime(2030, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=7)  # the records spread over a week
AUTH = {"Authorization": f"Bearer {DEFAULT_API_TOKEN}"}
RARE_WORDS = [f"word{n}" for n in range(2_000)]


def rows(count: int, rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    step = SPAN / count
    batch = []
    for n in range(count):
        level = rng.choice(["DEBUG", "INFO", "INFO", "WARNING", "ERROR"])
        batch.append(
            {
                "time": START + step * n,
                "service": rng.choice(SERVICES),
                "env": "bench",
                "host": f"host-{n % 4}",
                "level": level,
                "level_no": level_number(level),
                "logger": "bench.module",
                "function": "handler",
                "line": 42,
                "process": 1234,
                "thread": "MainThread",
                "message": " ".join(rng.choices(WORDS, k=3) + rng.choices(RARE_WORDS, k=5)),
                "request_id": f"req-{n // 8:08d}",
                "exception": None,
                "fields": f'{{"user": {n % 1000}}}',
            }
        )
        if len(batch) == 5_000:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(url: str, count: int) -> float:
    upgrade("logs", url)
    database = Database(url)
    started = time.perf_counter()
    for batch in rows(count, random.Random(1)):
        with database.session() as session:
            insert_rows(session, batch)
    elapsed = time.perf_counter() - started
    database.dispose()
    return elapsed


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def timed(get: Callable[[], Any], queries: int) -> tuple[list[float], int]:
    samples, found = [], 0
    for _ in range(queries):
        started = time.perf_counter()
        response = get()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_json()
        found += len(response.get_json().get("items", ()))
    return samples, found


@contextlib.contextmanager
def database_url(postgres: bool, scratch: str) -> Iterator[str]:
    if postgres:
        with temporary_postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{scratch}/logs.db"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    rng = random.Random(2)

    with (
        temporary_vhost() as broker_url,
        tempfile.TemporaryDirectory() as scratch,
        database_url(args.postgres, scratch) as url,
    ):
        filled = fill(url, args.records)
        settings = load_settings(
            "logs",
            env="test",
            var_dir=Path(scratch),
            broker_url=broker_url,
            logs_database_url=url,
            ship_logs=False,
            log_level="WARNING",
        )
        client = create_app(settings).test_client()

        def text_query() -> Any:
            since = START + timedelta(hours=rng.randrange(7 * 24 - 1))
            return client.get(
                "/api/logs",
                headers=AUTH,
                query_string={
                    "q": " ".join(rng.sample(WORDS, 2)),
                    "service": rng.choice(SERVICES),
                    "since": since.isoformat(),
                    "until": (since + timedelta(hours=1)).isoformat(),
                    "limit": 100,
                },
            )

        def request_id_query() -> Any:
            request_id = f"req-{rng.randrange(args.records // 8):08d}"
            return client.get("/api/logs", headers=AUTH, query_string={"request_id": request_id})

        timed(lambda: client.get("/healthz"), 20)  # warm up
        baseline, _ = timed(lambda: client.get("/healthz"), args.queries)
        text_ms, text_found = timed(text_query, args.queries)
        request_ms, request_found = timed(request_id_query, args.queries)

    store = "PostgreSQL" if args.postgres else "SQLite + FTS5"
    print(
        f"store: {store}, {args.records:,} records filled in {filled:.0f}s "
        f"({args.records / filled:,.0f} rows/s); {args.queries} queries of each kind, in process"
    )
    print(f"baseline GET /healthz          : p95 {p95(baseline):7.2f} ms")
    print(
        f"text + service + 1h range      : p95 {p95(text_ms):7.2f} ms  median "
        f"{statistics.median(text_ms):6.2f} ms  ({text_found / args.queries:.0f} items/query)"
        "  (goal < 100 ms)"
    )
    print(
        f"request id lookup              : p95 {p95(request_ms):7.2f} ms  median "
        f"{statistics.median(request_ms):6.2f} ms  ({request_found / args.queries:.0f} items/query)"
        "  (goal < 100 ms)"
    )


if __name__ == "__main__":
    main()
