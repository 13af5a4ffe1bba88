"""The task tracker through its pages: projects, members, tasks, filters, 404 for outsiders,
injection attempts rendered as text, and exports followed and downloaded through the worker."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, Response, jsonify
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from web_helpers import Person, csrf_token, post_form, unique_email
from werkzeug.serving import make_server

from loom_common.flask_app import app_database as database
from loom_common.settings import Settings
from loom_common.testing import free_port
from loom_web.app import create_app
from loom_web.models import Project, Task

INJECTIONS = [
    "Robert'); DROP TABLE tasks;--",
    "' OR '1'='1",
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
]


def _new_project(person: Person, name: str = "Apollo", description: str = "") -> int:
    response = post_form(
        person.client, "/projects", "/projects", {"name": name, "description": description}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _add_task(person: Person, project_id: int, **fields: Any) -> Any:
    data = {
        "title": "a task",
        "description": "",
        "status": "open",
        "assignee_id": "0",
        "due_date": "",
    }
    data.update(fields)
    return post_form(
        person.client, f"/projects/{project_id}", f"/projects/{project_id}/tasks", data
    )


def test_a_project_page_shows_its_tasks_and_members_and_takes_new_ones(
    make_person: Callable[..., Person],
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project_id = _new_project(ada, "Apollo", "to the moon")
    invited = post_form(
        ada.client,
        f"/projects/{project_id}",
        f"/projects/{project_id}/members",
        {"email": grace.email, "role": "member"},
    )
    assert invited.status_code == 302
    _add_task(ada, project_id, title="Build the rocket", due_date="2030-05-01T10:30")

    page = grace.client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "Apollo" in page and "to the moon" in page
    assert "Build the rocket" in page and "2030-05-01 10:30" in page
    assert "Grace" in page and grace.email in page
    assert "Apollo" in grace.client.get("/projects").get_data(as_text=True)


def test_a_task_is_edited_assigned_completed_and_deleted_from_the_pages(
    app: Flask, make_person: Callable[..., Person]
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project_id = _new_project(ada)
    post_form(
        ada.client,
        f"/projects/{project_id}",
        f"/projects/{project_id}/members",
        {"email": grace.email, "role": "member"},
    )
    _add_task(ada, project_id, title="Draft")
    with database(app).session() as session:
        task_id = session.scalar(select(Task.id).where(Task.title == "Draft"))
    page = ada.client.get(f"/projects/{project_id}/tasks/{task_id}").get_data(as_text=True)
    grace_id = int(page.split(">Grace<")[0].rsplit('value="', 1)[1].split('"')[0])

    task_page = f"/projects/{project_id}/tasks/{task_id}"
    saved = post_form(
        ada.client,
        task_page,
        task_page,
        {
            "title": "Final",
            "description": "now",
            "status": "in_progress",
            "assignee_id": str(grace_id),
            "due_date": "",
        },
    )
    assert saved.status_code == 302
    listing = ada.client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "Final" in listing and "in progress" in listing

    post_form(ada.client, f"/projects/{project_id}", f"{task_page}/complete", {})
    done = ada.client.get(f"/projects/{project_id}", query_string={"status": "done"}).get_data(
        as_text=True
    )
    assert "Final" in done

    post_form(ada.client, task_page, f"{task_page}/delete", {})
    assert "Final" not in ada.client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert ada.client.get(task_page).status_code == 404


def test_filters_and_the_next_page_link_on_the_project_page(
    make_person: Callable[..., Person],
) -> None:
    ada = make_person("Ada")
    project_id = _new_project(ada)
    for day in range(1, 4):
        _add_task(ada, project_id, title=f"Task of day {day}", due_date=f"2030-01-0{day}T08:00")
    filtered = ada.client.get(
        f"/projects/{project_id}",
        query_string={"due_after": "2030-01-02", "due_before": "2030-01-03"},
    ).get_data(as_text=True)
    assert "Task of day 2" in filtered
    assert "Task of day 1" not in filtered and "Task of day 3" not in filtered
    bad = ada.client.get(f"/projects/{project_id}", query_string={"due_before": "someday"})
    assert bad.status_code == 400
    assert "due_before" in bad.get_data(as_text=True)


def test_outsiders_get_404_on_every_project_page(make_person: Callable[..., Person]) -> None:
    ada, eve = make_person("Ada"), make_person("Eve")
    project_id = _new_project(ada, "Secret plans")
    _add_task(ada, project_id, title="hidden")
    for path in (f"/projects/{project_id}", f"/projects/{project_id}/tasks/1", "/projects/999"):
        response = eve.client.get(path)
        assert response.status_code == 404, path
        assert "Secret plans" not in response.get_data(as_text=True)
    page = eve.client.get("/projects").get_data(as_text=True)
    tried = eve.client.post(
        f"/projects/{project_id}/tasks", data={"title": "intrusion", "csrf_token": csrf_token(page)}
    )
    assert tried.status_code == 404


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_attempts_are_stored_as_text_and_rendered_escaped(
    app: Flask, client: FlaskClient, make_person: Callable[..., Person], attack: str
) -> None:
    ada = make_person(attack[:40], unique_email("attacker"))
    project_id = _new_project(ada, attack, attack)
    _add_task(ada, project_id, title=attack, description=attack)
    api_task = client.post(
        f"/api/v1/projects/{project_id}/tasks",
        json={"title": attack, "description": attack},
        headers=ada.headers,
    )
    assert api_task.status_code == 201
    assert api_task.json["title"] == attack

    with database(app).session() as session:  # the tables are still there and hold the text
        titles = list(session.scalars(select(Task.title)))
        assert titles == [attack, attack]
        assert session.scalar(select(Project.name)) == attack

    for page in (
        f"/projects/{project_id}",
        "/projects",
        f"/projects/{project_id}/tasks/{api_task.json['id']}",
    ):
        body = ada.client.get(page).get_data(as_text=True)
        assert str(escape(attack)) in body, page
        if "<" in attack:
            assert attack not in body, page
    listed = client.get(f"/api/v1/projects/{project_id}/tasks", headers=ada.headers).json["items"]
    assert [t["title"] for t in listed] == [attack, attack]


class FakeWorkerApi:
    """The worker's jobs API as web calls it: one job record and its file."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.auth: list[str | None] = []
        worker = Flask("fake_worker")

        @worker.get("/api/jobs/<job_id>")
        def job(job_id: str) -> Any:
            from flask import request

            self.auth.append(request.headers.get("Authorization"))
            if job_id not in self.jobs:
                return jsonify(error={"code": "not_found"}), 404
            return jsonify(self.jobs[job_id])

        @worker.get("/api/jobs/<job_id>/file")
        def file(job_id: str) -> Any:
            if job_id not in self.files:
                return jsonify(error={"code": "not_found"}), 404
            return Response(
                self.files[job_id],
                mimetype="text/csv",
                headers={"Content-Disposition": 'attachment; filename="apollo.csv"'},
            )

        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, worker, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def worker_api() -> Iterator[FakeWorkerApi]:
    worker = FakeWorkerApi()
    worker.thread.start()
    yield worker
    worker.server.shutdown()


def test_the_owner_follows_an_export_and_downloads_it_through_web(
    make_settings: Callable[..., Settings], worker_api: FakeWorkerApi
) -> None:
    from web_helpers import register

    app = create_app(make_settings("web", worker_url=worker_api.url))
    try:
        ada, grace = register(app, "Ada"), register(app, "Grace")
        project_id = _new_project(ada)
        post_form(
            ada.client,
            f"/projects/{project_id}",
            f"/projects/{project_id}/members",
            {"email": grace.email, "role": "member"},
        )
        asked = post_form(
            ada.client, f"/projects/{project_id}", f"/projects/{project_id}/exports", {}
        )
        assert asked.status_code == 302

        page = ada.client.get(f"/projects/{project_id}").get_data(as_text=True)
        assert '<span class="status">queued</span>' in page  # the worker has no record yet
        assert worker_api.auth[-1] == "Bearer dev-api-token"
        job_id = next(iter(_export_job_ids(app)))

        worker_api.jobs[job_id] = {"id": job_id, "status": "running", "progress": 40}
        page = ada.client.get(f"/projects/{project_id}").get_data(as_text=True)
        assert '<span class="status">running</span>' in page and "40%" in page
        download = f"/projects/{project_id}/exports/1/download"
        assert ada.client.get(download).status_code == 409  # not ready yet

        csv = b"id,title\n" + b"".join(b"%d,task %d\n" % (i, i) for i in range(5000))
        worker_api.jobs[job_id] = {"id": job_id, "status": "succeeded"}
        worker_api.files[job_id] = csv
        page = ada.client.get(f"/projects/{project_id}").get_data(as_text=True)
        assert "Download" in page
        response = ada.client.get(download)
        assert response.status_code == 200
        assert response.is_streamed
        assert response.data == csv
        assert response.headers["Content-Disposition"] == 'attachment; filename="apollo.csv"'

        assert grace.client.get(download).status_code == 403  # a member, not the owner
        assert "Exports" not in grace.client.get(f"/projects/{project_id}").get_data(as_text=True)
    finally:
        database(app).dispose()


def _export_job_ids(app: Flask) -> list[str]:
    from loom_web.models import Export

    with database(app).session() as session:
        return list(session.scalars(select(Export.job_id)))


def test_the_project_page_says_so_when_the_worker_is_down(
    make_settings: Callable[..., Settings],
) -> None:
    from web_helpers import register

    app = create_app(make_settings("web", worker_url=f"http://127.0.0.1:{free_port()}"))
    try:
        ada = register(app, "Ada")
        project_id = _new_project(ada)
        post_form(ada.client, f"/projects/{project_id}", f"/projects/{project_id}/exports", {})
        page = ada.client.get(f"/projects/{project_id}")
        assert page.status_code == 200
        assert "the worker is unreachable" in page.get_data(as_text=True)
    finally:
        database(app).dispose()
