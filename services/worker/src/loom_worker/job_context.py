"""What a running job may use: its id, the settings and config, the database, progress reporting."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loom_common.db import Database
from loom_common.settings import Settings
from loom_worker.config import WorkerConfig
from loom_worker.models import Job
from loom_worker.record_writer import Change, RecordWriter
from loom_worker.web_client import WebClient

PROGRESS_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class JobContext:
    job_id: str
    settings: Settings
    config: WorkerConfig
    database: Database
    # The worker's record writer: progress then goes in order after the job's start.
    records: RecordWriter | None = None

    def report_progress(self, done: int, total: int | None = None) -> None:
        """Shown by GET /api/jobs/<id> while the job runs (stored when this returns)."""
        if self.records is not None:
            progress = {"progress_done": done, "progress_total": total}
            written = self.records.submit(Change(self.job_id, progress), wait_for_it=True)
            if written is not None:
                written.wait(PROGRESS_WAIT_SECONDS)
            return
        with self.database.session() as session:
            job = session.get(Job, self.job_id)
            if job is not None:
                job.progress_done, job.progress_total = done, total

    def web(self) -> WebClient:
        return WebClient(self.settings)

    @property
    def exports_dir(self) -> Path:
        return exports_dir(self.settings)


def exports_dir(settings: Settings) -> Path:
    return settings.var_dir / "exports"


def export_path(settings: Settings, job_id: str) -> Path:
    return exports_dir(settings) / f"{job_id}.csv"
