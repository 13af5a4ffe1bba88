"""The worker's job records, looked up through its jobs API as an operator would."""

from __future__ import annotations

from typing import Any

from conftest import Stack
from polling import wait_for


def job_for_recipient(stack: Stack, actor: str, recipient: str) -> dict[str, Any] | None:
    """The newest ``actor`` job whose ``to`` argument is ``recipient`` (GET /api/jobs?actor=)."""
    reply = stack.get("worker", "/api/jobs", params={"actor": actor, "limit": 200})
    assert reply.status_code == 200, reply.text
    for job in reply.json()["items"]:
        if job["arguments"].get("kwargs", {}).get("to") == recipient:
            return dict(job)
    return None


def wait_for_finished_job(
    stack: Stack, actor: str, recipient: str, timeout: float = 45
) -> dict[str, Any]:
    """The recipient's ``actor`` job once it has finished (succeeded, failed or dead)."""

    def finished() -> dict[str, Any] | None:
        job = job_for_recipient(stack, actor, recipient)
        return job if job and job["status"] in ("succeeded", "failed", "dead") else None

    return wait_for(finished, timeout=timeout, interval=0.3, message=f"{actor} to {recipient}")


def wait_for_job_id(stack: Stack, job_id: str, timeout: float = 45) -> dict[str, Any]:
    """Job ``job_id`` once it has finished (GET /api/jobs/<id>)."""

    def finished() -> dict[str, Any] | None:
        reply = stack.get("worker", f"/api/jobs/{job_id}")
        job: dict[str, Any] = reply.json()
        return job if reply.ok and job["status"] in ("succeeded", "failed", "dead") else None

    return wait_for(finished, timeout=timeout, interval=0.3, message=f"job {job_id} to finish")
