"""Small helpers the worker's tests share."""

from __future__ import annotations

from typing import Any

from flask import Flask

from loom_common.settings import DEFAULT_API_TOKEN
from loom_common.testing import wait_until

TOKEN = {"Authorization": f"Bearer {DEFAULT_API_TOKEN}"}


def job_of(app: Flask, job_id: str) -> dict[str, Any] | None:
    response = app.test_client().get(f"/api/jobs/{job_id}", headers=TOKEN)
    return response.json if response.status_code == 200 else None


def wait_for_status(app: Flask, job_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
    job: dict[str, Any] = wait_until(
        lambda: (j := job_of(app, job_id)) and j["status"] == status and j,
        timeout=timeout,
        message=f"job {job_id} to be {status} (now: {job_of(app, job_id)})",
    )
    return job


def enqueue(app: Flask, name: str, args: dict[str, Any], **headers: str) -> Any:
    return app.test_client().post(
        "/api/jobs", json={"name": name, "args": args}, headers={**TOKEN, **headers}
    )


def metric(app: Flask, name: str, **labels: str) -> float:
    """The value of one sample on /metrics (0 when absent)."""
    text = app.test_client().get("/metrics").get_data(as_text=True)
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            series, _, value = line.rpartition(" ")
            inside = series[len(name) :].strip("{}")
            if ",".join(sorted(inside.split(","))) == wanted or (not wanted and not inside):
                return float(value)
    return 0.0
