"""The CSV export of a project's tasks: pages through web's task API into a file.

The file is written under a temporary name and renamed when complete, so a reader never sees
half a file and a redelivered job simply starts over.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import orjson
from pydantic import BaseModel

from loom_common.bounded_ints import Id
from loom_common.contracts import JOB_PROJECT_EXPORT
from loom_common.job_options import MINUTE_MS
from loom_worker.job_context import JobContext, export_path
from loom_worker.registry import job

PAGE_SIZE = 100
PREFERRED_COLUMNS = (
    "id",
    "title",
    "description",
    "status",
    "assignee",
    "due_date",
    "created_at",
    "updated_at",
)
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ProjectExportArgs(BaseModel):
    project_id: Id
    requested_by: Id


def _columns(first_task: dict[str, Any] | None) -> list[str]:
    if first_task is None:
        return list(PREFERRED_COLUMNS)
    known = [name for name in PREFERRED_COLUMNS if name in first_task]
    return known + [name for name in first_task if name not in PREFERRED_COLUMNS]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        # An embedded user or project: its readable name, else the whole object.
        for key in ("name", "email", "title", "id"):
            if key in value:
                return _cell(value[key])
        return orjson.dumps(value).decode()
    if isinstance(value, list):
        return orjson.dumps(value).decode()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


@job(
    JOB_PROJECT_EXPORT,
    ProjectExportArgs,
    max_retries=3,
    time_limit_ms=30 * MINUTE_MS,
    produces_file=True,
)
def project_csv(args: ProjectExportArgs, context: JobContext) -> dict[str, Any]:
    final = export_path(context.settings, context.job_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_suffix(".csv.partial")
    rows = 0
    context.report_progress(0, None)
    with context.web() as web, partial.open("w", newline="", encoding="utf-8") as file:
        writer: csv.DictWriter[str] | None = None
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            page = web.get(f"/api/v1/projects/{args.project_id}/tasks", params=params)
            items = [item for item in page.get("items", []) if isinstance(item, dict)]
            if writer is None:
                writer = csv.DictWriter(
                    file, fieldnames=_columns(items[0] if items else None), extrasaction="ignore"
                )
                writer.writeheader()
            writer.writerows({key: _cell(value) for key, value in item.items()} for item in items)
            rows += len(items)
            total = page.get("total")
            context.report_progress(rows, total if isinstance(total, int) else None)
            cursor = page.get("next_cursor")
            if not cursor:
                break
        file.flush()
        os.fsync(file.fileno())
    partial.replace(final)
    context.report_progress(rows, rows)
    return {"rows": rows, "file": final.name, "project_id": args.project_id}
