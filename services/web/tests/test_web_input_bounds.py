"""What the web API answers to input no database can hold: ids past 64 bits."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from web_helpers import Person

from loom_common.cursors import encode_cursor

HUGE = "820517158035656953298944"  # past 64 bits: SQLite's driver raises OverflowError
PAST_BIGINT = 2**63  # one past the largest BIGINT; orjson and pydantic still take it as an int


def test_an_id_past_64_bits_in_the_path_is_404_json(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    for path in (
        f"/api/v1/tasks/{HUGE}",
        f"/api/v1/projects/{HUGE}",
        f"/api/v1/projects/{HUGE}/tasks",
        f"/api/v1/projects/{PAST_BIGINT}",
    ):
        response = client.get(path, headers=ada.headers)
        assert response.status_code == 404, (path, response.json)
        assert response.json["error"]["code"] == "not_found"


def test_an_id_past_64_bits_in_a_body_or_query_is_422_naming_it(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    project = client.post("/api/v1/projects", json={"name": "Apollo"}, headers=ada.headers).json
    tasks = f"/api/v1/projects/{project['id']}/tasks"

    created = client.post(
        tasks, json={"title": "t", "assignee_id": PAST_BIGINT}, headers=ada.headers
    )
    assert created.status_code == 422, created.json
    assert set(created.json["error"]["fields"]) == {"assignee_id"}

    listed = client.get(tasks, query_string={"assignee_id": PAST_BIGINT}, headers=ada.headers)
    assert listed.status_code == 422, listed.json
    assert set(listed.json["error"]["fields"]) == {"assignee_id"}


def test_a_cursor_holding_an_id_past_64_bits_is_400(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    project = client.post("/api/v1/projects", json={"name": "Apollo"}, headers=ada.headers).json
    response = client.get(
        f"/api/v1/projects/{project['id']}/tasks",
        query_string={"cursor": encode_cursor("tasks", PAST_BIGINT)},
        headers=ada.headers,
    )
    assert response.status_code == 400, response.json
    assert "cursor" in response.json["error"]["message"]
