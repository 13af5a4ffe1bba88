"""A load generator: threads sending requests through nginx without pause, counting every
answer that is not a 200 (and every connection error) as a failed request."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests


@dataclass
class LoadReport:
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    releases: Counter[str] = field(default_factory=Counter)  # X-Loom-Release of each answer


def _hammer(
    url: str, certificate: str, stop: threading.Event, report: LoadReport, lock: threading.Lock
) -> None:
    while not stop.is_set():
        # A new connection per request, as many clients make: nothing hides behind a retry.
        try:
            response = requests.get(
                url, verify=certificate, timeout=10, headers={"Connection": "close"}
            )
            failure = (
                None
                if response.status_code == 200
                else f"{response.status_code} {response.text[:200]}"
            )
            release = response.headers.get("X-Loom-Release", "?")
        except requests.RequestException as error:
            failure, release = f"{type(error).__name__}: {error}", "?"
        with lock:
            report.sent += 1
            report.releases[release] += 1
            if failure:
                report.failures.append(failure)


@contextmanager
def steady_load(url: str, certificate: str, threads: int = 2) -> Iterator[LoadReport]:
    report, stop, lock = LoadReport(), threading.Event(), threading.Lock()
    workers = [
        threading.Thread(target=_hammer, args=(url, certificate, stop, report, lock), daemon=True)
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    try:
        yield report
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
