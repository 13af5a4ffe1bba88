"""exports.project_csv: pages through web's task API into a CSV the API then serves."""

from __future__ import annotations

import csv
import io
from types import ModuleType

import dramatiq
from flask import Flask
from helpers import TOKEN, enqueue, job_of, wait_for_status
from peers import WebPeer

from loom_common.contracts import JOB_PROJECT_EXPORT
from loom_common.testing import wait_until
from loom_worker.job_context import export_path


def tasks(count: int) -> list[dict[str, object]]:
    return [
        {
            "id": n,
            "title": f"Task {n}",
            "status": "open",
            "assignee": {"id": 3, "name": "Ada"},
            "due_date": "2026-12-01",
            "description": '=HYPERLINK("http://evil")' if n == 1 else f"about {n}",
        }
        for n in range(1, count + 1)
    ]


def test_export_writes_every_page_and_the_file_can_be_downloaded(
    app: Flask, worker: dramatiq.Worker, web: WebPeer
) -> None:
    web.state.tasks[7] = tasks(250)
    job = enqueue(app, JOB_PROJECT_EXPORT, {"project_id": 7, "requested_by": 1}).json

    done = wait_for_status(app, job["id"], "succeeded")

    assert done["result"]["rows"] == 250
    assert done["progress"] == {"done": 250, "total": 250, "fraction": 1.0}
    assert web.state.pages_served == 3  # 100 a page
    response = app.test_client().get(f"/api/jobs/{job['id']}/file", headers=TOKEN)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 250
    assert list(rows[0])[:4] == ["id", "title", "description", "status"]
    assert rows[1]["title"] == "Task 2" and rows[1]["assignee"] == "Ada"
    # A formula in a cell is neutralised for spreadsheets.
    assert rows[0]["description"] == '\'=HYPERLINK("http://evil")'


def test_progress_shows_while_the_export_runs(
    app: Flask, worker: dramatiq.Worker, web: WebPeer
) -> None:
    web.state.tasks[8] = tasks(120)
    web.state.hold_pages.set()  # the second page waits
    job = enqueue(app, JOB_PROJECT_EXPORT, {"project_id": 8, "requested_by": 1}).json

    running = wait_until(
        lambda: (
            (j := job_of(app, job["id"])) and (j.get("progress") or {}).get("done") == 100 and j
        ),
        timeout=15,
    )
    assert running["status"] == "running"
    file = app.test_client().get(f"/api/jobs/{job['id']}/file", headers=TOKEN)
    assert file.status_code == 409
    assert "not ready" in file.json["error"]["message"]

    web.state.hold_pages.clear()
    assert wait_for_status(app, job["id"], "succeeded")["result"]["rows"] == 120


def test_an_empty_project_exports_a_header_only(
    app: Flask, worker: dramatiq.Worker, web: WebPeer
) -> None:
    web.state.tasks[9] = []
    job = enqueue(app, JOB_PROJECT_EXPORT, {"project_id": 9, "requested_by": 1}).json
    done = wait_for_status(app, job["id"], "succeeded")
    assert done["result"]["rows"] == 0
    body = (
        app.test_client().get(f"/api/jobs/{job['id']}/file", headers=TOKEN).get_data(as_text=True)
    )
    assert body.splitlines() == [
        "id,title,description,status,assignee,due_date,created_at,updated_at"
    ]


def test_file_of_a_job_without_one_or_of_a_removed_export_is_404(
    app: Flask, actors: ModuleType, worker: dramatiq.Worker, web: WebPeer
) -> None:
    greet = enqueue(app, "greet", {"name": "Ada"}).json
    wait_for_status(app, greet["id"], "succeeded")
    response = app.test_client().get(f"/api/jobs/{greet['id']}/file", headers=TOKEN)
    assert response.status_code == 404
    assert "produces no file" in response.json["error"]["message"]

    web.state.tasks[10] = tasks(1)
    export = enqueue(app, JOB_PROJECT_EXPORT, {"project_id": 10, "requested_by": 1}).json
    wait_for_status(app, export["id"], "succeeded")
    export_path(actors.settings, export["id"]).unlink()
    response = app.test_client().get(f"/api/jobs/{export['id']}/file", headers=TOKEN)
    assert response.status_code == 404
    assert "removed" in response.json["error"]["message"]
    assert app.test_client().get("/api/jobs/nope/file", headers=TOKEN).status_code == 404
