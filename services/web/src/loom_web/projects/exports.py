"""CSV exports of a project: queued to the worker, followed and downloaded through its API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from loom_common.broker import send_after_commit
from loom_common.contracts import JOB_PROJECT_EXPORT, JOBS_QUEUE
from loom_common.flask_app import current_database
from loom_web.models import Export
from loom_web.projects.cache import mark_project_changed, read_through

WORKER_TIMEOUT = 3.0
CHUNK_BYTES = 64 * 1024


def request_export(session: Session, project_id: int, user_id: int | None) -> Export:
    message = send_after_commit(
        session, JOBS_QUEUE, JOB_PROJECT_EXPORT, project_id=project_id, requested_by=user_id
    )
    export = Export(job_id=message.message_id, project_id=project_id, requested_by=user_id)
    session.add(export)
    session.flush()
    mark_project_changed(session, project_id)
    return export


def recent_exports(project_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """The project's latest exports (``id``, ``job_id``, ``created_at``), newest first (cached:
    asking for one is a write to the project)."""

    def build() -> list[dict[str, Any]]:
        with current_database().session() as session:
            rows = session.scalars(
                select(Export)
                .where(Export.project_id == project_id)
                .order_by(Export.id.desc())
                .limit(limit)
            )
            return [{"id": e.id, "job_id": e.job_id, "created_at": e.created_at} for e in rows]

    return read_through("exports", project_id, str(limit), build)


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
