"""A steady load on a Loom topology, with an account of what was sent and what arrived.

Three kinds of traffic, each in its own thread at a few requests a second:

- ``jobs``: ``POST /api/greetings`` on web; each 202 names a job id that the worker must finish;
- ``errors``: events built by the real ``sentry_sdk`` client (one fingerprint per run, so they
  form one issue) and posted as envelopes to the errors service's Sentry ingest;
- ``logs``: records with a unique marker posted to the logs service's ``/api/ingest``.

Every attempt is kept with its time and outcome: accepted (2xx), refused (another status) or
failed (no answer: connection refused, reset or timed out). After :meth:`Load.stop`,
:meth:`Load.reconcile` polls the services' read APIs until what arrived stops changing and
counts, per kind, what was accepted but never stored (lost) and what was stored more than once
(duplicates). :func:`failure_window` turns the attempts into "seconds until whole again".

Usable from tests (``infra/ha/tests/test_faults.py``) and by hand against ``make up``::

    python infra/ha/load.py --seconds 20   # the dev stack on 127.0.0.1:8000-8003
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import sentry_sdk
from sentry_sdk.transport import Transport

KINDS = ("jobs", "errors", "logs")
# A request that has not answered by then counts as failed: the load balancer's health checks
# take a dead host out in about 2 s, so a longer wait would only hide the failure.
REQUEST_TIMEOUT = 5.0


@dataclass(frozen=True)
class Targets:
    """Where the load goes: each service's base URL (a load balancer's, or the dev ports)."""

    urls: dict[str, str]  # web, worker, errors, logs
    api_token: str  # the operator token: web's API, the read APIs, and log ingest
    dsn: str  # an errors project's DSN, http://<public key>@<host>/<project id>

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}


@dataclass(frozen=True)
class Attempt:
    kind: str
    at: float  # time.monotonic() when the request was sent
    outcome: str  # accepted | refused | failed
    status: int | None = None
    item: str | None = None  # the job id, event id or log marker, when accepted
    detail: str = ""


@dataclass
class KindReport:
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    failed: int = 0
    stored: int = 0  # accepted items found, once or more
    lost: int = 0  # accepted, never found
    duplicates: int = 0  # extra copies found (an item stored twice counts 1)
    reruns: int = 0  # jobs only: finished but run more than once (same record, attempts > 1)
    statuses: dict[str, int] = field(default_factory=dict)  # refused, by HTTP status
    lost_items: list[str] = field(default_factory=list)  # the first few, to look them up


@dataclass
class Report:
    kinds: dict[str, KindReport]
    failure_window: dict[str, float | int | None]
    reconcile_seconds: float

    @property
    def lost(self) -> int:
        return sum(kind.lost for kind in self.kinds.values())

    @property
    def duplicates(self) -> int:
        return sum(kind.duplicates for kind in self.kinds.values())

    @property
    def failed_requests(self) -> int:
        return sum(kind.refused + kind.failed for kind in self.kinds.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "failed_requests": self.failed_requests,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "failure_window": self.failure_window,
            "reconcile_seconds": round(self.reconcile_seconds, 1),
            "kinds": {name: asdict(kind) for name, kind in self.kinds.items()},
        }

    def summary(self) -> str:
        lines = []
        for name, kind in self.kinds.items():
            lines.append(
                f"{name:<6} sent {kind.sent:>4}  accepted {kind.accepted:>4}  refused {kind.refused:>3}"
                f"  failed {kind.failed:>3}  stored {kind.stored:>4}  lost {kind.lost}"
                f"  duplicates {kind.duplicates}"
                + (f"  reruns {kind.reruns}" if name == "jobs" else "")
                + (f"  refused by status {kind.statuses}" if kind.statuses else "")
            )
        window = self.failure_window
        lines.append(
            f"failures {window['failures']} from first to last {window['failing_seconds']} s;"
            f" whole again {window['seconds_until_whole']} s after the fault"
        )
        return "\n".join(lines)


def failure_window(attempts: Iterable[Attempt], fault_at: float | None = None) -> dict[str, Any]:
    """How long requests failed: from the fault (or the first failure) to the first success
    after the last failure. Zero failures means zero seconds."""
    ordered = sorted(attempts, key=lambda attempt: attempt.at)
    failures = [attempt for attempt in ordered if attempt.outcome != "accepted"]
    if not failures:
        return {"failures": 0, "failing_seconds": 0.0, "seconds_until_whole": 0.0}
    first, last = failures[0].at, failures[-1].at
    recovered = next((a.at for a in ordered if a.at > last and a.outcome == "accepted"), None)
    start = fault_at if fault_at is not None else first
    return {
        "failures": len(failures),
        "failing_seconds": round(last - first, 1),
        "seconds_until_whole": round(recovered - start, 1) if recovered is not None else None,
    }


class _KeepEnvelope(Transport):
    """sentry_sdk's own envelope, kept instead of sent: the load posts it and sees the answer."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Any] = []

    def capture_envelope(self, envelope: Any) -> None:
        self.envelopes.append(envelope)


class _ErrorEvents:
    def __init__(self, run: str, dsn: str) -> None:
        self.run = run
        parts = urlsplit(dsn)
        self.public_key = parts.username or ""
        self.project_id = parts.path.strip("/")
        self.transport = _KeepEnvelope()
        self.client = sentry_sdk.Client(
            transport=self.transport,
            default_integrations=False,
            environment="ha-load",
            release="load",
            server_name="load",
        )

    def envelope(self, number: int) -> tuple[str, bytes]:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(self.client)
            scope.set_tag("service", "load")
            scope.set_tag("load_run", self.run)
            scope.fingerprint = [f"load-{self.run}"]
            event_id = sentry_sdk.capture_message(f"load {self.run} event {number}", level="error")
        envelope = self.transport.envelopes.pop()
        return str(event_id), envelope.serialize()

    def path(self) -> str:
        return f"/api/{self.project_id}/envelope/"

    def auth(self) -> dict[str, str]:
        return {
            "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=loom-load, sentry_key={self.public_key}",
            "Content-Type": "application/x-sentry-envelope",
        }


class Load:
    """Start it, break something, stop it, reconcile: ``report = load.reconcile()``."""

    def __init__(
        self,
        targets: Targets,
        rate: float = 3.0,
        kinds: Iterable[str] = KINDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.targets = targets
        self.rate = rate  # requests per second, per kind
        self.kinds = tuple(kinds)
        self.clock = clock
        self.run = secrets.token_hex(4)
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors = _ErrorEvents(self.run, targets.dsn)
        self.started_at = datetime.now(UTC)

    # -- sending -------------------------------------------------------------------------
    def start(self) -> Load:
        for kind in self.kinds:
            thread = threading.Thread(
                target=self._send_loop, args=(kind,), name=f"load-{kind}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_accepted(self, count: int, timeout: float = 30.0) -> None:
        """Until each kind has had ``count`` more requests accepted (the load is flowing)."""
        base = {kind: self._accepted_count(kind) for kind in self.kinds}
        deadline = self.clock() + timeout
        while any(self._accepted_count(kind) - base[kind] < count for kind in self.kinds):
            if self.clock() > deadline:
                raise AssertionError(f"load not flowing: {self.summary_so_far()}")
            time.sleep(0.2)

    def _accepted_count(self, kind: str) -> int:
        with self._lock:
            return sum(1 for a in self.attempts if a.kind == kind and a.outcome == "accepted")

    def summary_so_far(self) -> dict[str, Counter[str]]:
        with self._lock:
            tally: dict[str, Counter[str]] = {kind: Counter() for kind in self.kinds}
            for attempt in self.attempts:
                tally[attempt.kind][attempt.outcome] += 1
            return tally

    def _send_loop(self, kind: str) -> None:
        session = requests.Session()
        send = {"jobs": self._send_job, "errors": self._send_error, "logs": self._send_log}[kind]
        interval = 1.0 / self.rate
        number = 0
        next_at = self.clock()
        while not self._stop.is_set():
            number += 1
            at = self.clock()
            try:
                attempt = send(session, number, at)
            except requests.RequestException as error:  # no answer at all
                attempt = Attempt(kind, at, "failed", detail=type(error).__name__)
            with self._lock:
                self.attempts.append(attempt)
            next_at = max(next_at + interval, self.clock())
            self._stop.wait(max(0.0, next_at - self.clock()))

    def _answer(
        self, kind: str, at: float, response: requests.Response, item: str | None
    ) -> Attempt:
        if 200 <= response.status_code < 300 and item:
            return Attempt(kind, at, "accepted", response.status_code, item)
        return Attempt(kind, at, "refused", response.status_code, detail=response.text[:200])

    def _send_job(self, session: requests.Session, number: int, at: float) -> Attempt:
        response = session.post(
            self.targets.urls["web"] + "/api/greetings",
            json={"name": f"load {self.run} {number}"},
            headers=self.targets.headers,
            timeout=REQUEST_TIMEOUT,
        )
        job_id = _json(response).get("job_id") if response.status_code == 202 else None
        return self._answer("jobs", at, response, job_id)

    def _send_error(self, session: requests.Session, number: int, at: float) -> Attempt:
        event_id, body = self._errors.envelope(number)
        response = session.post(
            self.targets.urls["errors"] + self._errors.path(),
            data=body,
            headers=self._errors.auth(),
            timeout=REQUEST_TIMEOUT,
        )
        return self._answer("errors", at, response, event_id)

    def _send_log(self, session: requests.Session, number: int, at: float) -> Attempt:
        marker = f"{self.run}-{number}"
        record = {
            "time": datetime.now(UTC).isoformat(),
            "level": "INFO",
            "message": f"load {self.run} record {marker}",
            "service": "load",
            "env": "ha",
            "host": "load",
            "logger": "loom.load",
            "fields": {"load_run": self.run, "marker": marker},
        }
        response = session.post(
            self.targets.urls["logs"] + "/api/ingest",
            json=[record],
            headers=self.targets.headers,
            timeout=REQUEST_TIMEOUT,
        )
        accepted = response.status_code == 202 and _json(response).get("accepted") == 1
        return self._answer("logs", at, response, marker if accepted else None)

    # -- reconciling ---------------------------------------------------------------------
    def accepted_items(self, kind: str) -> list[str]:
        with self._lock:
            return [
                a.item
                for a in self.attempts
                if a.kind == kind and a.outcome == "accepted" and a.item
            ]

    def reconcile(
        self, timeout: float = 90.0, settle: float = 4.0, fault_at: float | None = None
    ) -> Report:
        """Poll until everything accepted is stored, or until what is stored has not changed
        for ``settle`` seconds after ``timeout``/3 (so a loss ends the wait early, but not a
        slow queue): then count."""
        started = self.clock()
        deadline = started + timeout
        session = requests.Session()
        previous: dict[str, Any] | None = None
        unchanged_since = self.clock()
        while True:
            found = {
                "jobs": self._found_jobs(session),
                "errors": self._found_events(session),
                "logs": self._found_logs(session),
            }
            found = {kind: value for kind, value in found.items() if kind in self.kinds}
            complete = all(
                set(self.accepted_items(kind)) <= {i for i, n in found[kind].items() if n["done"]}
                for kind in self.kinds
            )
            if found != previous:
                previous, unchanged_since = copy.deepcopy(found), self.clock()
            now = self.clock()
            settled = now - unchanged_since >= settle and now - started >= timeout / 3
            if (complete and now - unchanged_since >= 1.0) or settled or now > deadline:
                break
            time.sleep(1.0)
        kinds = {kind: self._count(kind, found[kind]) for kind in self.kinds}
        window = failure_window(self.attempts, fault_at)
        return Report(kinds=kinds, failure_window=window, reconcile_seconds=self.clock() - started)

    def _count(self, kind: str, found: dict[str, dict[str, Any]]) -> KindReport:
        report = KindReport()
        with self._lock:
            mine = [a for a in self.attempts if a.kind == kind]
        report.sent = len(mine)
        for attempt in mine:
            if attempt.outcome == "accepted":
                report.accepted += 1
            elif attempt.outcome == "refused":
                report.refused += 1
                report.statuses[str(attempt.status)] = (
                    report.statuses.get(str(attempt.status), 0) + 1
                )
            else:
                report.failed += 1
        accepted = {a.item for a in mine if a.outcome == "accepted" and a.item}
        for item in sorted(accepted):
            seen = found.get(item)
            if seen is None or not seen["done"]:
                report.lost += 1
                if len(report.lost_items) < 10:
                    report.lost_items.append(item)
                continue
            report.stored += 1
            report.duplicates += max(0, seen["copies"] - 1)
            report.reruns += max(0, seen.get("runs", 1) - 1)
        return report

    def _found_jobs(self, session: requests.Session) -> dict[str, dict[str, Any]]:
        """Each accepted job's record on the worker: done when succeeded. A record is one row
        per job id, so a copy cannot be stored twice; a second run shows as attempts > 1."""
        ids = self.accepted_items("jobs")

        def look(job_id: str) -> tuple[str, dict[str, Any] | None]:
            try:
                response = session.get(
                    f"{self.targets.urls['worker']}/api/jobs/{job_id}",
                    headers=self.targets.headers,
                    timeout=REQUEST_TIMEOUT,
                )
            except requests.RequestException:
                return job_id, None
            if response.status_code != 200:
                return job_id, None
            job = response.json()
            return job_id, {
                "done": job["status"] == "succeeded",
                "copies": 1,
                "runs": job["attempts"],
                "status": job["status"],
            }

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            return {job_id: seen for job_id, seen in pool.map(look, ids) if seen is not None}

    def _found_events(self, session: requests.Session) -> dict[str, dict[str, Any]]:
        """Every stored event of the run's issue (one fingerprint), counting each event id."""
        ids = self.accepted_items("errors")
        issue_id = None
        for event_id in ids[:20]:
            response = self._get(session, "errors", f"/api/events/{event_id}")
            if response is not None and response.status_code == 200:
                issue_id = response.json()["issue_id"]
                break
        if issue_id is None:
            return {}
        copies: Counter[str] = Counter()
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            response = self._get(session, "errors", f"/api/issues/{issue_id}/events", params)
            if response is None or response.status_code != 200:
                return {}  # the read failed: try again at the next poll
            page = response.json()
            copies.update(item["event_id"].replace("-", "") for item in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        return {event_id: {"done": True, "copies": n} for event_id, n in copies.items()}

    def _found_logs(self, session: requests.Session) -> dict[str, dict[str, Any]]:
        copies: Counter[str] = Counter()
        cursor = None
        while True:
            params: dict[str, Any] = {"field": f"load_run={self.run}", "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            response = self._get(session, "logs", "/api/logs", params)
            if response is None or response.status_code != 200:
                return {}
            page = response.json()
            copies.update(str(item["fields"].get("marker")) for item in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        return {marker: {"done": True, "copies": n} for marker, n in copies.items()}

    def _get(
        self,
        session: requests.Session,
        service: str,
        path: str,
        params: dict[str, Any] | None = None,
    ) -> requests.Response | None:
        try:
            return session.get(
                self.targets.urls[service] + path,
                params=params,
                headers=self.targets.headers,
                timeout=REQUEST_TIMEOUT,
            )
        except requests.RequestException:
            return None


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def dev_targets() -> Targets:
    """The dev stack of ``make up``: ports 8000-8003, the dev token, errors project 1's DSN."""
    urls = {
        name: f"http://127.0.0.1:{port}"
        for name, port in (("web", 8000), ("worker", 8001), ("errors", 8002), ("logs", 8003))
    }
    token = "dev-api-token"
    keys = requests.get(
        f"{urls['errors']}/api/projects/1/keys",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    keys.raise_for_status()
    body = keys.json()
    items = body["items"] if isinstance(body, dict) else body
    return Targets(urls=urls, api_token=token, dsn=items[0]["dsn"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=3.0)
    arguments = parser.parse_args()
    load = Load(dev_targets(), rate=arguments.rate).start()
    time.sleep(arguments.seconds)
    load.stop()
    report = load.reconcile()
    print(report.summary())
    print(json.dumps(report.as_dict(), indent=2))


if __name__ == "__main__":
    main()
