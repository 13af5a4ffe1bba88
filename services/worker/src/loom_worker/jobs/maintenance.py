"""The hourly cleanup: web's expired sessions and tokens, the worker's old records and files."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select

from loom_common.contracts import JOB_CLEANUP
from loom_common.db import Database, utcnow
from loom_worker.job_context import JobContext
from loom_worker.metrics import CLEANUP_REMOVED
from loom_worker.models import FINISHED_STATUSES, Job, ScheduleFire, SentEmail
from loom_worker.registry import job

HOUR = 3600.0


class CleanupArgs(BaseModel):
    pass


def drop_old_job_records(database: Database, retention_hours: float) -> int:
    """Finished jobs older than the retention, with their sent-email and schedule rows."""
    cutoff = utcnow() - timedelta(hours=retention_hours)
    with database.session() as session:
        old = list(
            session.scalars(
                select(Job.id).where(Job.status.in_(FINISHED_STATUSES), Job.finished_at < cutoff)
            )
        )
        for start in range(0, len(old), 500):
            chunk = old[start : start + 500]
            session.execute(delete(SentEmail).where(SentEmail.job_id.in_(chunk)))
            session.execute(delete(Job).where(Job.id.in_(chunk)))
        session.execute(delete(ScheduleFire).where(ScheduleFire.created_at < cutoff))
    return len(old)


def drop_stale_exports(context: JobContext) -> int:
    """Export files (and leftovers of interrupted ones) older than their retention."""
    directory = context.exports_dir
    if not directory.is_dir():
        return 0
    cutoff = time.time() - context.config.export_retention_hours * HOUR
    removed = 0
    for path in directory.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


@job(JOB_CLEANUP, CleanupArgs, max_retries=3)
def cleanup(args: CleanupArgs, context: JobContext) -> dict[str, Any]:
    records = drop_old_job_records(context.database, context.config.job_retention_hours)
    files = drop_stale_exports(context)
    CLEANUP_REMOVED.labels("job_records").inc(records)
    CLEANUP_REMOVED.labels("export_files").inc(files)
    # Last: if web is down the job retries, and the local part is simply done again.
    with context.web() as web:
        web_result = web.post("/api/v1/maintenance/cleanup")
    return {"job_records_removed": records, "export_files_removed": files, "web": web_result}
