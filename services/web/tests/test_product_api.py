"""The task tracker through ``/api/v1``: projects, members, tasks, filters and pages,
who may see what, validation, the jobs it sends, and the worker's internal endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from web_helpers import JobsQueue, Person

from loom_common.contracts import JOB_PROJECT_EXPORT, JOB_TASK_ASSIGNED_EMAIL
from loom_common.flask_app import app_database as database
from loom_web.models import Export


def _project(client: FlaskClient, owner: Person, name: str = "Apollo") -> dict[str, Any]:
    response = client.post("/api/v1/projects", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def _task(client: FlaskClient, who: Person, project_id: int, **fields: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/projects/{project_id}/tasks",
        json={"title": "a task", **fields},
        headers=who.headers,
    )
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def _invite(client: FlaskClient, owner: Person, project_id: int, member: Person) -> None:
    response = client.post(
        f"/api/v1/projects/{project_id}/members",
        json={"email": member.email},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.json


def test_a_project_is_created_with_its_owner_and_members_are_invited_by_email(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project = _project(client, ada)
    assert [(m["name"], m["role"]) for m in project["members"]] == [("Ada", "owner")]

    _invite(client, ada, project["id"], grace)
    seen = client.get(f"/api/v1/projects/{project['id']}", headers=grace.headers).json
    assert {(m["name"], m["role"]) for m in seen["members"]} == {
        ("Ada", "owner"),
        ("Grace", "member"),
    }
    assert [
        p["id"] for p in client.get("/api/v1/projects", headers=grace.headers).json["items"]
    ] == [project["id"]]

    again = client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"email": grace.email},
        headers=ada.headers,
    )
    assert again.status_code == 409
    unknown = client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"email": "nobody@example.com"},
        headers=ada.headers,
    )
    assert unknown.status_code == 422
    assert "email" in unknown.json["error"]["fields"]
    by_member = client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"email": ada.email},
        headers=grace.headers,
    )
    assert by_member.status_code == 403


def test_only_members_see_a_project_and_others_get_404(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada, eve = make_person("Ada"), make_person("Eve")
    project = _project(client, ada)
    task = _task(client, ada, project["id"])
    for method, path, body in [
        ("get", f"/api/v1/projects/{project['id']}", None),
        ("get", f"/api/v1/projects/{project['id']}/tasks", None),
        ("post", f"/api/v1/projects/{project['id']}/tasks", {"title": "x"}),
        ("get", f"/api/v1/tasks/{task['id']}", None),
        ("patch", f"/api/v1/tasks/{task['id']}", {"status": "done"}),
        ("delete", f"/api/v1/tasks/{task['id']}", None),
    ]:
        response = getattr(client, method)(path, json=body, headers=eve.headers)
        assert response.status_code == 404, (method, path)
        assert response.json["error"]["code"] == "not_found"
    missing = client.get("/api/v1/projects/99999", headers=eve.headers)
    assert missing.json["error"]["message"] == "no project with id 99999"
    assert client.get("/api/v1/projects", headers=eve.headers).json["items"] == []
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=ada.headers).status_code == 200


def test_tasks_are_created_edited_assigned_completed_and_deleted(
    client: FlaskClient, make_person: Callable[..., Person], jobs: JobsQueue
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project = _project(client, ada, "Gemini")
    _invite(client, ada, project["id"], grace)
    task = _task(
        client, ada, project["id"], title="Write the plan", due_date="2030-01-02T09:00:00+00:00"
    )
    assert task["status"] == "open" and task["assignee"] is None

    assigned = client.patch(
        f"/api/v1/tasks/{task['id']}",
        json={"assignee_id": _user_id(client, grace), "description": "longer"},
        headers=ada.headers,
    )
    assert assigned.status_code == 200
    assert assigned.json["assignee"]["name"] == "Grace"
    assert assigned.json["description"] == "longer"
    message = jobs.wait(JOB_TASK_ASSIGNED_EMAIL, to=grace.email)
    assert message["kwargs"] == {
        "to": grace.email,
        "name": "Grace",
        "task_title": "Write the plan",
        "project_name": "Gemini",
        "task_url": f"http://127.0.0.1:8000/projects/{project['id']}/tasks/{task['id']}",
        "assigned_by": "Ada",
    }

    done = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"status": "done"}, headers=grace.headers
    )
    assert done.json["status"] == "done" and done.json["completed_at"]
    reopened = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"status": "open"}, headers=grace.headers
    )
    assert reopened.json["completed_at"] is None
    unassigned = client.patch(
        f"/api/v1/tasks/{task['id']}", json={"assignee_id": None}, headers=ada.headers
    )
    assert unassigned.json["assignee"] is None

    assert client.delete(f"/api/v1/tasks/{task['id']}", headers=grace.headers).status_code == 204
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=ada.headers).status_code == 404


def _user_id(client: FlaskClient, person: Person) -> int:
    return int(client.get("/api/v1/me", headers=person.headers).json["id"])


def test_assigning_a_task_to_someone_outside_the_project_is_422(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada, eve = make_person("Ada"), make_person("Eve")
    project = _project(client, ada)
    response = client.post(
        f"/api/v1/projects/{project['id']}/tasks",
        json={"title": "x", "assignee_id": _user_id(client, eve)},
        headers=ada.headers,
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "assignee_id": "the assignee must be a member of the project"
    }


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"title"}),
        ({"title": ""}, {"title"}),
        ({"title": "x" * 201}, {"title"}),
        ({"title": "ok", "status": "finished"}, {"status"}),
        ({"title": "ok", "due_date": "tomorrow"}, {"due_date"}),
        ({"title": "ok", "due_date": "2030-01-01T00:00:00"}, {"due_date"}),  # no timezone
        ({"title": 5, "assignee_id": "Ada", "colour": "red"}, {"title", "assignee_id", "colour"}),
    ],
)
def test_an_invalid_task_is_422_naming_each_bad_field(
    client: FlaskClient, make_person: Callable[..., Person], body: dict[str, Any], fields: set[str]
) -> None:
    ada = make_person("Ada")
    project = _project(client, ada)
    response = client.post(
        f"/api/v1/projects/{project['id']}/tasks", json=body, headers=ada.headers
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == fields
    assert (
        client.get(f"/api/v1/projects/{project['id']}/tasks", headers=ada.headers).json["items"]
        == []
    )


def test_bad_list_parameters_are_named(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    project = _project(client, ada)
    response = client.get(
        f"/api/v1/projects/{project['id']}/tasks",
        query_string={"limit": 0, "status": "nope", "due_before": "soon"},
        headers=ada.headers,
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"limit", "status", "due_before"}
    bad_cursor = client.get(
        f"/api/v1/projects/{project['id']}/tasks",
        query_string={"cursor": "!!"},
        headers=ada.headers,
    )
    assert bad_cursor.status_code == 400
    assert "cursor" in bad_cursor.json["error"]["message"]


def test_tasks_are_filtered_and_paged_with_a_cursor(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project = _project(client, ada)
    _invite(client, ada, project["id"], grace)
    grace_id = _user_id(client, grace)
    for day in range(1, 8):
        _task(
            client,
            ada,
            project["id"],
            title=f"day {day}",
            due_date=f"2030-01-0{day}T12:00:00+00:00",
            assignee_id=grace_id if day % 2 else None,
            status="done" if day == 3 else "open",
        )
    url = f"/api/v1/projects/{project['id']}/tasks"

    def titles(**query: Any) -> list[str]:
        body = client.get(url, query_string=query, headers=ada.headers).json
        return [t["title"] for t in body["items"]]

    assert titles(assignee_id=grace_id) == ["day 1", "day 3", "day 5", "day 7"]
    assert titles(status="done") == ["day 3"]
    assert titles(due_after="2030-01-02T00:00:00Z", due_before="2030-01-05T00:00:00Z") == [
        "day 2",
        "day 3",
        "day 4",
    ]
    assert titles(status="open", assignee_id=grace_id, due_before="2030-01-06T00:00:00Z") == [
        "day 1",
        "day 5",
    ]

    pages, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get(url, query_string=query, headers=ada.headers).json
        pages.append([t["title"] for t in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [["day 1", "day 2", "day 3"], ["day 4", "day 5", "day 6"], ["day 7"]]


def test_the_operator_token_reads_any_projects_tasks_but_cannot_act_as_a_person(
    client: FlaskClient, make_person: Callable[..., Person], operator_headers: dict[str, str]
) -> None:
    ada = make_person("Ada")
    project = _project(client, ada)
    _task(client, ada, project["id"], title="visible to the export job")
    listed = client.get(f"/api/v1/projects/{project['id']}/tasks", headers=operator_headers)
    assert listed.status_code == 200
    assert [t["title"] for t in listed.json["items"]] == ["visible to the export job"]
    created = client.post(
        f"/api/v1/projects/{project['id']}/tasks", json={"title": "x"}, headers=operator_headers
    )
    assert created.status_code == 403
    assert client.get("/api/v1/projects/4242/tasks", headers=operator_headers).status_code == 404


def test_the_digest_lists_open_tasks_due_before_the_time_per_assignee(
    client: FlaskClient, make_person: Callable[..., Person], operator_headers: dict[str, str]
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project = _project(client, ada, "Mercury")
    _invite(client, ada, project["id"], grace)
    grace_id, ada_id = _user_id(client, grace), _user_id(client, ada)
    due = "2030-03-01T09:00:00+00:00"
    _task(client, ada, project["id"], title="due soon", due_date=due, assignee_id=grace_id)
    _task(
        client,
        ada,
        project["id"],
        title="done already",
        due_date=due,
        assignee_id=grace_id,
        status="done",
    )
    _task(
        client,
        ada,
        project["id"],
        title="due later",
        due_date="2030-04-01T09:00:00+00:00",
        assignee_id=grace_id,
    )
    _task(client, ada, project["id"], title="nobody's", due_date=due)
    mine = _task(client, ada, project["id"], title="Ada's own", due_date=due, assignee_id=ada_id)

    response = client.get(
        "/api/v1/digest",
        query_string={"due_before": "2030-03-15T00:00:00+00:00"},
        headers=operator_headers,
    )
    assert response.status_code == 200
    by_email = {item["email"]: item for item in response.json["items"]}
    assert set(by_email) == {ada.email, grace.email}
    assert by_email[grace.email]["name"] == "Grace"
    assert [t["title"] for t in by_email[grace.email]["tasks"]] == ["due soon"]
    [ada_task] = by_email[ada.email]["tasks"]
    assert ada_task == {
        "title": "Ada's own",
        "project": "Mercury",
        "due_date": "2030-03-01T09:00:00Z",
        "url": f"http://127.0.0.1:8000/projects/{project['id']}/tasks/{mine['id']}",
    }
    missing = client.get("/api/v1/digest", headers=operator_headers)
    assert missing.status_code == 422 and "due_before" in missing.json["error"]["fields"]
    assert (
        client.get(
            "/api/v1/digest",
            query_string={"due_before": "2030-03-15T00:00:00Z"},
            headers=ada.headers,
        ).status_code
        == 403
    )


def test_an_export_goes_to_the_worker_and_is_recorded_for_the_owner_only(
    app: Flask, client: FlaskClient, make_person: Callable[..., Person], jobs: JobsQueue
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project = _project(client, ada)
    _invite(client, ada, project["id"], grace)
    refused = client.post(f"/api/v1/projects/{project['id']}/exports", headers=grace.headers)
    assert refused.status_code == 403

    response = client.post(f"/api/v1/projects/{project['id']}/exports", headers=ada.headers)
    assert response.status_code == 202
    message = jobs.wait(JOB_PROJECT_EXPORT, project_id=project["id"])
    assert message["message_id"] == response.json["job_id"]
    assert message["kwargs"] == {"project_id": project["id"], "requested_by": _user_id(client, ada)}
    with database(app).session() as session:
        export = session.get(Export, response.json["id"])
        assert export is not None and export.job_id == message["message_id"]


def test_a_body_over_the_limit_is_413_json(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    response = client.post(
        "/api/v1/projects",
        json={"name": "big", "description": "x" * (2 * 1024 * 1024)},
        headers=ada.headers,
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    assert client.get("/api/v1/projects", headers=ada.headers).json["items"] == []


def test_the_openapi_document_lists_the_v1_api(client: FlaskClient) -> None:
    paths = set(client.get("/openapi.json").json["paths"])
    assert {
        "/api/v1/projects",
        "/api/v1/projects/{project_id}/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tokens",
        "/api/v1/auth/token",
        "/api/v1/digest",
        "/api/v1/maintenance/cleanup",
    } <= paths
