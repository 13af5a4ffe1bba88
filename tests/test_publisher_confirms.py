"""RabbitMQ restarts while web enqueues jobs: every job web answered "accepted" for is run.

Web writes each job's message with the request's rows (its outbox) and publishes it with
publisher confirms after the commit: a 202 means the message is in RabbitMQ or in web's
outbox, and during the outage web keeps accepting; the relay sends what waited once RabbitMQ
is back, and nothing in between is lost.
"""

from __future__ import annotations

import threading
import time

import requests
from conftest import Stack, broker_stopped

from loom_common.testing import wait_until


class Enqueuer(threading.Thread):
    """Posts greetings without pause and remembers the job ids web accepted."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.accepted: list[str] = []
        self.refused = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        number = 0
        while not self.stopping.is_set():
            number += 1
            try:
                reply = self.stack.post("web", "/api/greetings", json={"name": f"guest {number}"})
            except requests.RequestException:
                self.refused += 1
                continue
            if reply.status_code == 202:
                self.accepted.append(reply.json()["job_id"])
            else:
                assert reply.status_code == 503, reply.text
                self.refused += 1
                time.sleep(0.05)


def _succeeded(stack: Stack, job_id: str) -> bool:
    reply = stack.get("worker", f"/api/jobs/{job_id}")
    return reply.status_code == 200 and reply.json()["status"] == "succeeded"


def test_every_accepted_job_runs_across_a_broker_restart(stack: Stack) -> None:
    enqueuer = Enqueuer(stack)
    enqueuer.start()
    try:
        wait_until(lambda: len(enqueuer.accepted) >= 20, timeout=30, message="jobs accepted")
        with broker_stopped():
            accepted_before_stop = len(enqueuer.accepted)
            wait_until(
                lambda: len(enqueuer.accepted) >= accepted_before_stop + 5,
                timeout=30,
                message="web to keep accepting jobs (into its outbox) while RabbitMQ is away",
            )
        wait_until(
            lambda: len(enqueuer.accepted) >= accepted_before_stop + 20,
            timeout=60,
            message="web to accept jobs again after the restart",
        )
    finally:
        enqueuer.stopping.set()
        enqueuer.join(timeout=15)

    pending = set(enqueuer.accepted)

    def all_ran() -> bool:
        for job_id in list(pending):
            if _succeeded(stack, job_id):
                pending.discard(job_id)
        return not pending

    wait_until(all_ran, timeout=120, interval=1, message=f"{len(pending)} accepted jobs to run")
