"""Sentry events per second fully processed (HTTP accepted -> queued -> grouped and stored),
against the raw rate of inserting the same events as rows into the same database, same run.

Events are made by the real sentry-sdk (its envelopes, gzip-compressed as it sends them): a
mix of exception types and stack depths, padded with hex text to 5-50 KB before compression.
The errors service runs as service.toml declares it: gunicorn (2 workers x 4 threads) and
the dramatiq consumer (1 process x 4 threads), on a fresh database and a temporary vhost.
``--senders`` Python threads in this process post the envelopes concurrently (a Python load
generator on the same 2 cores steals CPU from the server). The clock runs from the first
POST until every event is stored. Raw: one INSERT of (event_id, payload) per event, each
committed, into a fresh table of the same database.

    python bench/errors_ingest.py [--events 1000] [--senders 8] [--backend sqlite postgresql]

Goal (issue 4): >= 500 events/s. Anchors: Bugsink 2.6.2 about 70 events/s here.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport
from sqlalchemy import Column, MetaData, String, Table, Text, func, insert, select

from loom_common.db import Database
from loom_common.manifest import REPO_ROOT, load_manifest
from loom_common.migrations import upgrade
from loom_common.testing import free_port, temporary_postgres_database, temporary_vhost, wait_until
from loom_errors.models import Issue
from loom_errors.projects.service import create_key, create_project

BIN = Path(sys.executable).parent
SERVICE_TOML = REPO_ROOT / "services" / "errors" / "service.toml"


class KeepEnvelopes(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


def _recurse(depth: int, kind: type[Exception], text: str) -> None:
    if depth <= 0:
        raise kind(text)
    _recurse(depth - 1, kind, text)


KINDS: list[type[Exception]] = [ValueError, KeyError, RuntimeError, TypeError, ZeroDivisionError]


def make_events(count: int, seed: int = 4) -> list[tuple[str, bytes]]:
    """(event_id, gzip-compressed envelope) pairs, built by sentry-sdk."""
    rng = random.Random(seed)
    transport = KeepEnvelopes()
    client = sentry_sdk.Client(
        transport=transport,
        default_integrations=False,
        release="bench@1.0",
        environment="bench",
        max_value_length=100_000,  # keep the padding: events of 5-50 KB, as the issue asks
        include_local_variables=False,  # the generator's own locals would balloon the events
    )
    made: list[tuple[str, bytes]] = []
    for number in range(count):
        padding = secrets.token_hex(rng.randint(5_000, 50_000) // 2)
        kind = KINDS[number % len(KINDS)]
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            scope.set_extra("padding", padding)
            scope.set_tag("service", "bench")
            try:
                _recurse(rng.randint(1, 30), kind, f"failure {number % 40} of order {number}")
            except Exception as error:
                event_id = sentry_sdk.capture_exception(error)
        envelope = transport.envelopes.pop()
        made.append((str(event_id), gzip.compress(envelope.serialize())))
    return made


@contextmanager
def database_url(backend: str, var_dir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{var_dir / 'errors.db'}"
    else:
        with temporary_postgres_database() as url:
            yield url


@contextmanager
def errors_service(url: str, broker_url: str, var_dir: Path) -> Iterator[str]:
    """gunicorn and the consumer, as service.toml declares them; yields the HTTP base URL."""
    port = free_port()
    metrics_dir = var_dir / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LOOM_SERVICE": "errors",
        "LOOM_ENV": "test",
        "LOOM_BROKER_URL": broker_url,
        "LOOM_VAR_DIR": str(var_dir),
        "LOOM_ERRORS_DATABASE_URL": url,
        "LOOM_ERRORS_PORT": str(port),
        "LOOM_SHIP_LOGS": "false",
        "LOOM_CAPTURE_ERRORS": "false",
        "LOOM_LOG_LEVEL": "WARNING",
        "LOOM_ERRORS_RATE_PER_SECOND": "0",  # measuring throughput, not the limiter
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    processes = []
    log = (var_dir / "service.log").open("wb")
    try:
        for process in load_manifest(SERVICE_TOML).processes:
            processes.append(
                subprocess.Popen(
                    shlex.split(process.command), env=env, cwd=REPO_ROOT, stdout=log, stderr=log
                )
            )
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(base + "/healthz", timeout=2).ok, timeout=60)
        yield base
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def stored_events(database: Database) -> int:
    """Events grouped and counted (stored rows are fewer: each issue keeps its first and latest)."""
    with database.session() as session:
        return int(session.scalar(select(func.coalesce(func.sum(Issue.count), 0))) or 0)


def end_to_end(events: list[tuple[str, bytes]], backend: str, senders: int) -> float:
    with ExitStack() as stack:
        var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        broker_url = stack.enter_context(temporary_vhost())
        url = stack.enter_context(database_url(backend, var_dir))
        upgrade("errors", url)
        database = Database(url)
        with database.session() as session:
            key = create_key(session, create_project(session, "bench").id)
        base = stack.enter_context(errors_service(url, broker_url, var_dir))
        endpoint = f"{base}/api/{key.project_id}/envelope/?sentry_key={key.public_key}"
        headers = {"Content-Type": "application/x-sentry-envelope", "Content-Encoding": "gzip"}
        http = requests.Session()
        http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=senders))

        def post(item: tuple[str, bytes]) -> None:
            response = http.post(endpoint, data=item[1], headers=headers, timeout=30)
            if response.status_code != 200:
                raise SystemExit(f"ingest answered {response.status_code}: {response.text}")

        post(events[0])  # warm up: first connections, first issue
        wait_until(lambda: stored_events(database) == 1, timeout=30)
        started = time.perf_counter()
        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(post, events[1:]))
        accepted = time.perf_counter() - started
        wait_until(lambda: stored_events(database) >= len(events), timeout=600, interval=0.05)
        elapsed = time.perf_counter() - started
        database.dispose()
    print(
        f"  {backend:10} HTTP accepted {len(events) - 1} in {accepted:.1f} s; all stored in {elapsed:.1f} s"
    )
    return (len(events) - 1) / elapsed


def raw_inserts(events: list[tuple[str, bytes]], backend: str) -> float:
    with ExitStack() as stack:
        var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(database_url(backend, var_dir))
        database = Database(url)
        table = Table(
            "raw_events",
            MetaData(),
            Column("event_id", String(32), primary_key=True),
            Column("payload", Text),
        )
        table.metadata.create_all(database.engine)
        rows = [(event_id, gzip.decompress(body).decode()) for event_id, body in events]
        started = time.perf_counter()
        for event_id, payload in rows:
            with database.session() as session:
                session.execute(insert(table).values(event_id=event_id, payload=payload))
        elapsed = time.perf_counter() - started
        database.dispose()
    return len(rows) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument(
        "--backend", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    args = parser.parse_args()

    events = make_events(args.events)
    sizes = sorted(len(gzip.decompress(body)) for _, body in events)
    print(
        f"{len(events)} sentry-sdk envelopes: median {statistics.median(sizes) / 1024:.0f} KB"
        f" (min {sizes[0] / 1024:.0f}, max {sizes[-1] / 1024:.0f}) before gzip;"
        f" {args.senders} concurrent Python senders"
    )
    for backend in args.backend:
        ours = end_to_end(events, backend, args.senders)
        raw = raw_inserts(events, backend)
        print(
            f"  {backend:10} end to end: {ours:7.0f} events/s   raw insert (1 row per commit):"
            f" {raw:7.0f} rows/s   ratio {ours / raw:.3f}   (goal >= 500 events/s)"
        )


if __name__ == "__main__":
    main()
