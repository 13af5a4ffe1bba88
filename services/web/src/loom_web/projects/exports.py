"""A project's CSV export on the worker's side: its job's status and its file, through the
worker's jobs API (asking for one is :func:`loom_web.projects.services.request_export`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests
from flask import current_app

WORKER_TIMEOUT = 3.0
CHUNK_BYTES = 64 * 1024


def _worker(path: str) -> str:
    return f"{current_app.config['LOOM_WORKER_URL']}/api/jobs/{path}"


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {current_app.config['LOOM_API_TOKEN']}"}


def job_status(job_id: str) -> dict[str, Any]:
    """The worker's record of the job, or ``{"status": "unknown", "error": why}``."""
    try:
        reply = requests.get(_worker(job_id), headers=_headers(), timeout=WORKER_TIMEOUT)
    except requests.RequestException as error:
        return {"status": "unknown", "error": f"the worker is unreachable ({type(error).__name__})"}
    if reply.status_code == 404:
        return {"status": "queued"}  # the worker has not picked it up yet
    if not reply.ok:
        return {"status": "unknown", "error": f"the worker answered {reply.status_code}"}
    body: dict[str, Any] = reply.json()
    return body


class ExportUnavailable(Exception):
    pass


def open_export_file(job_id: str) -> tuple[Iterator[bytes], dict[str, str]]:
    """The file's bytes, streamed from the worker, and the headers to pass on."""
    try:
        reply = requests.get(
            _worker(f"{job_id}/file"), headers=_headers(), timeout=WORKER_TIMEOUT, stream=True
        )
    except requests.RequestException as error:
        raise ExportUnavailable(f"the worker is unreachable ({type(error).__name__})") from None
    if not reply.ok:
        reply.close()
        raise ExportUnavailable(
            f"the export file is not ready (worker answered {reply.status_code})"
        )
    headers = {
        "Content-Type": reply.headers.get("Content-Type", "text/csv"),
        "Content-Disposition": reply.headers.get(
            "Content-Disposition", f'attachment; filename="export-{job_id}.csv"'
        ),
    }

    def chunks() -> Iterator[bytes]:
        with reply:
            yield from reply.iter_content(CHUNK_BYTES)

    return chunks(), headers
