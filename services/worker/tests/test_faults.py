"""Faults with real worker processes (``dramatiq loom_worker.actors``, as service.toml runs it):
killed mid-job, stopped mid-job, SMTP away, a job over its time limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from flask import Flask
from helpers import enqueue, job_of, wait_for_status
from peers import WebPeer

from loom_common.contracts import JOB_PROJECT_EXPORT, JOB_WELCOME_EMAIL, JOBS_QUEUE
from loom_common.mail.sink import SmtpSink
from loom_common.testing import wait_until

BIN = Path(sys.executable).parent
StartWorker = Callable[[], subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(
    actors: Any, worker_environment: dict[str, str], tmp_path: Path
) -> Iterator[StartWorker]:
    """Starts ``dramatiq loom_worker.actors`` processes (own process group each); all are
    stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, **worker_environment, "LOOM_SERVICE": "worker"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    def start() -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [str(BIN / "dramatiq"), "loom_worker.actors", "--queues", JOBS_QUEUE,
             "--processes", "1", "--threads", "2"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tasks(count: int) -> list[dict[str, Any]]:
    return [{"id": n, "title": f"Task {n}"} for n in range(count)]


def export_reached_page_two(app: Flask, job_id: str) -> bool:
    job = job_of(app, job_id) or {}
    return job.get("status") == "running" and (job.get("progress") or {}).get("done") == 100


def test_a_worker_killed_mid_job_gets_the_job_delivered_again(
    app: Flask, web: WebPeer, start_worker: StartWorker
) -> None:
    web.state.tasks[30] = tasks(150)
    web.state.hold_pages.set()
    first = start_worker()
    job = enqueue(app, JOB_PROJECT_EXPORT, {"project_id": 30, "requested_by": 1}).json
    wait_until(lambda: export_reached_page_two(app, job["id"]), timeout=30)

    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    web.state.hold_pages.clear()
    start_worker()

    done = wait_for_status(app, job["id"], "succeeded", timeout=30)
    assert done["attempts"] == 2
    assert done["result"]["rows"] == 150


def log_of(tmp_path: Path, number: int) -> bytes:
    return (tmp_path / f"worker-{number}.log").read_bytes()


def test_sigterm_finishes_in_flight_jobs_and_loses_none(
    app: Flask, web: WebPeer, start_worker: StartWorker, tmp_path: Path
) -> None:
    web.state.tasks[31] = tasks(150)
    web.state.hold_pages.set()
    stopping = start_worker()
    exports = [
        enqueue(app, JOB_PROJECT_EXPORT, {"project_id": 31, "requested_by": 1}).json["id"]
        for _ in range(2)
    ]
    wait_until(lambda: all(export_reached_page_two(app, i) for i in exports), timeout=30)
    # Both threads are busy: these wait, prefetched by the stopping worker or in the queue.
    greets = [enqueue(app, "greet", {"name": f"g{n}"}).json["id"] for n in range(3)]

    # To the main process only, as a supervisor does: it passes the signal on to its worker
    # processes once (a second SIGTERM would make them exit at once).
    stopping.send_signal(signal.SIGTERM)
    wait_until(lambda: b"Shutting down" in log_of(tmp_path, 0), timeout=15)
    assert stopping.poll() is None, "the worker waits for its running jobs"
    web.state.hold_pages.clear()
    assert stopping.wait(timeout=30) == 0

    for job_id in exports:
        job = job_of(app, job_id)
        assert job and job["status"] == "succeeded" and job["attempts"] == 1
    # The waiting ones were either run before it left or left on the queue: none in between.
    assert {job_of(app, i)["status"] for i in greets} <= {"queued", "succeeded"}  # type: ignore[index]

    start_worker()
    for job_id in greets:
        assert wait_for_status(app, job_id, "succeeded", timeout=30)["attempts"] == 1


def test_smtp_down_then_up_sends_exactly_one_email(
    app: Flask, smtp_port: int, start_worker: StartWorker
) -> None:
    sink = SmtpSink(smtp_port)  # not started: SMTP is down
    start_worker()
    job = enqueue(app, JOB_WELCOME_EMAIL, {"to": "patient@example.com", "name": "Pat"}).json

    retrying = wait_for_status(app, job["id"], "retrying", timeout=30)
    assert "ConnectionRefusedError" in retrying["error"]
    sink.start()
    try:
        done = wait_for_status(app, job["id"], "succeeded", timeout=30)
        # Were it sent twice, the second copy would arrive right after the first.
        delivered = [m for m in sink.messages if m["To"] == "patient@example.com"]
    finally:
        sink.stop()
    assert done["attempts"] >= 2
    assert len(delivered) == 1
    assert delivered[0]["Message-ID"] == f"<{job['id']}@localhost>"


def test_a_job_over_its_time_limit_ends_dead_with_the_reason(
    app: Flask,
    web: WebPeer,
    start_worker: StartWorker,
    drain_queue: Callable[[str], list[dict[str, Any]]],
) -> None:
    web.state.tasks[32] = tasks(1000)
    web.state.page_delay = 0.5  # 10 pages: 4.5 s, far over the limit
    start_worker()
    message = dramatiq.get_broker().enqueue(
        dramatiq.Message(
            queue_name=JOBS_QUEUE, actor_name=JOB_PROJECT_EXPORT, args=(),
            kwargs={"project_id": 32, "requested_by": 1},
            options={"time_limit": 500, "max_retries": 1, "min_backoff": 100, "max_backoff": 200},
        )
    )  # fmt: skip

    job = wait_for_status(app, message.message_id, "dead", timeout=30)
    assert job["attempts"] == 2, "one retry, then the dead letters"
    assert "TimeLimitExceeded" in job["error"]
    dead = wait_until(lambda: drain_queue(f"{JOBS_QUEUE}.XQ"), timeout=10)
    assert "TimeLimitExceeded" in dead[0]["options"]["dead_letter_reason"]
