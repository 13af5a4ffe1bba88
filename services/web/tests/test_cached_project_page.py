"""The project page's content is rendered once per project version and shared by its
members: every kind of write shows at once, and what is per person (the header, the CSRF
token, the owner's parts) is never served to someone else."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

from flask import Flask
from prometheus_client import REGISTRY
from sqlalchemy import select
from web_helpers import Person, csrf_token, post_form

from loom_common.flask_app import app_database as database
from loom_web.models import Task


def _page_lookups(result: str) -> float:
    value = REGISTRY.get_sample_value(
        "loom_web_cache_lookups_total", {"what": "page", "result": result}
    )
    return value or 0.0


def _project(owner: Person, member: Person) -> int:
    response = post_form(owner.client, "/projects", "/projects", {"name": "Apollo"})
    project_id = int(response.headers["Location"].rsplit("/", 1)[1])
    post_form(
        owner.client,
        f"/projects/{project_id}",
        f"/projects/{project_id}/members",
        {"email": member.email, "role": "member"},
    )
    return project_id


def _add_task(person: Person, project_id: int, title: str, **fields: str) -> None:
    data = {"title": title, "description": "", "status": "open", "assignee_id": "0"}
    data.update(fields)
    page = f"/projects/{project_id}"
    assert post_form(person.client, page, f"{page}/tasks", data).status_code == 302


def _task_id(app: Flask, title: str) -> int:
    with database(app).session() as session:
        found = session.scalar(select(Task.id).where(Task.title == title))
    assert found is not None
    return found


def _rows(page: str) -> list[str]:
    """The task titles in the page's table, in order."""
    return re.findall(r'/tasks/\d+">([^<]*)</a>', page)


def test_the_second_view_is_a_hit_and_each_kind_of_write_shows_at_once(
    app: Flask, make_person: Callable[..., Person]
) -> None:
    ada, grace, alan = make_person("Ada"), make_person("Grace"), make_person("Alan")
    project_id = _project(ada, grace)
    page = f"/projects/{project_id}"
    _add_task(ada, project_id, "Build the rocket")

    def view(person: Person = ada) -> str:
        response = person.client.get(page)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert _rows(view()) == ["Build the rocket"]
    hits = _page_lookups("hit")
    assert _rows(view()) == ["Build the rocket"]
    assert _page_lookups("hit") == hits + 1

    _add_task(grace, project_id, "Fuel it")  # created from the page
    assert _rows(view()) == ["Build the rocket", "Fuel it"]

    fuel = _task_id(app, "Fuel it")
    edit = f"{page}/tasks/{fuel}"
    fields = {"description": "", "assignee_id": "0", "due_date": ""}
    edited = post_form(
        ada.client, edit, edit, {**fields, "title": "Fuel it up", "status": "in_progress"}
    )
    assert edited.status_code == 302
    assert "Fuel it up" in _rows(view()) and "in progress" in view()

    post_form(ada.client, page, f"{edit}/complete", {})
    assert f"{edit}/complete" not in view()  # a done task has no Complete button
    assert "Fuel it up" in _rows(ada.client.get(page, query_string={"status": "done"}).text)

    renamed = app.test_client().patch(
        f"/api/v1/tasks/{fuel}", json={"title": "Fuelled"}, headers=ada.headers
    )
    assert renamed.status_code == 200
    assert "Fuelled" in _rows(view())  # written through the API, shown on the page

    assert alan.email not in view()
    post_form(ada.client, page, f"{page}/members", {"email": alan.email, "role": "member"})
    members_and_choices = view()
    assert alan.email in members_and_choices  # the members card
    assert re.search(r'<option value="\d+">Alan</option>', members_and_choices)  # assignee

    post_form(ada.client, edit, f"{edit}/delete", {})
    assert _rows(view()) == ["Build the rocket"]

    assert "Export the tasks as CSV" in view()
    assert "<li>" not in view().split("<h2>Exports</h2>")[1].split("</ul>")[0]
    post_form(ada.client, page, f"{page}/exports", {})
    assert '<span class="status">' in view().split("<h2>Exports</h2>")[1]


def test_a_page_cached_from_the_owners_view_is_served_to_a_member_as_their_own(
    make_person: Callable[..., Person],
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project_id = _project(ada, grace)
    page = f"/projects/{project_id}"
    _add_task(ada, project_id, "Shared task")
    grace.client.get(page)  # cached from Grace's member view first, then Ada's owner view
    owners = ada.client.get(page).get_data(as_text=True)
    hits = _page_lookups("hit")
    members = grace.client.get(page).get_data(as_text=True)
    assert _page_lookups("hit") == hits + 1

    assert "Export the tasks as CSV" in owners and "Invite" in owners
    assert "Export the tasks as CSV" not in members and "Invite" not in members
    assert '<span class="muted">Grace</span>' in members  # her name in the header, not Ada's
    assert '<span class="muted">Ada</span>' not in members
    assert csrf_token(members) != csrf_token(owners)
    assert set(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', members)) == {
        csrf_token(members)
    }

    # A button of the shared content works with Grace's own token, and Ada's is refused there.
    task_id = re.findall(r"/tasks/(\d+)/complete", members)[0]
    complete = f"{page}/tasks/{task_id}/complete"
    refused = grace.client.post(complete, data={"csrf_token": csrf_token(owners)})
    assert refused.status_code == 400
    assert grace.client.post(complete, data={"csrf_token": csrf_token(members)}).status_code == 302
    assert "/complete" not in grace.client.get(page).get_data(as_text=True)


def test_filters_and_pages_are_cached_apart_and_the_next_link_keeps_the_filters(
    make_person: Callable[..., Person],
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project_id = _project(ada, grace)
    page = f"/projects/{project_id}"
    for number in range(52):
        status = "done" if number % 2 else "open"
        _add_task(ada, project_id, f"Task {number}", status=status)

    first = ada.client.get(page).get_data(as_text=True)
    assert len(_rows(first)) == 50
    done = ada.client.get(page, query_string={"status": "done"}).get_data(as_text=True)
    assert _rows(done) == [f"Task {n}" for n in range(1, 52, 2)]

    next_link = re.search(r'href="([^"]+)">Next page', first)
    assert next_link, "50 of 52 tasks: a next page"
    second = ada.client.get(next_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert _rows(second) == ["Task 50", "Task 51"]

    after = ada.client.get(page, query_string={"due_after": "2030-01-02", "status": "open"})
    assert after.status_code == 200 and _rows(after.get_data(as_text=True)) == []


def test_a_cursor_that_is_not_ours_is_a_clear_400_on_the_page_and_the_api(
    make_person: Callable[..., Person],
) -> None:
    ada, grace = make_person("Ada"), make_person("Grace")
    project_id = _project(ada, grace)
    forged = base64.urlsafe_b64encode(b'["not a task id"]').decode().rstrip("=")
    for cursor in (forged, "%%%"):
        page = ada.client.get(f"/projects/{project_id}", query_string={"cursor": cursor})
        assert page.status_code == 400
        assert "invalid cursor" in page.get_data(as_text=True)
        api = ada.client.get(
            f"/api/v1/projects/{project_id}/tasks",
            query_string={"cursor": cursor},
            headers=ada.headers,
        )
        assert api.status_code == 400
        assert "invalid cursor" in api.json["error"]["message"]
