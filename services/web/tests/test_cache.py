"""The read-through cache of project pages and task lists: hits, misses, invalidation on
every write, with the in-process cache and with the real Redis."""

from __future__ import annotations

from collections.abc import Callable

import redis
from flask import Flask
from prometheus_client import REGISTRY
from web_helpers import REDIS_URL, Person, post_form, redis_app, register

from loom_common.flask_app import app_database as database
from loom_common.settings import Settings
from loom_web.app import create_app


def _lookups(what: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "loom_web_cache_lookups_total", {"what": what, "result": result}
    )
    return value or 0.0


def _titles(app: Flask, person: Person, project_id: int) -> list[str]:
    body = (
        app.test_client().get(f"/api/v1/projects/{project_id}/tasks", headers=person.headers).json
    )
    return [task["title"] for task in body["items"]]


def _check_read_through_and_invalidation(app: Flask) -> None:
    ada, grace = register(app, "Ada"), register(app, "Grace")
    client = app.test_client()
    project_id = client.post("/api/v1/projects", json={"name": "Cached"}, headers=ada.headers).json[
        "id"
    ]
    client.post(
        f"/api/v1/projects/{project_id}/tasks", json={"title": "first"}, headers=ada.headers
    )

    misses, hits = _lookups("tasks", "miss"), _lookups("tasks", "hit")
    assert _titles(app, ada, project_id) == ["first"]
    assert _titles(app, ada, project_id) == ["first"]
    assert (_lookups("tasks", "miss") - misses, _lookups("tasks", "hit") - hits) == (1, 1)

    # every kind of write shows at once: create, edit, invite, delete
    task_id = client.post(
        f"/api/v1/projects/{project_id}/tasks", json={"title": "second"}, headers=ada.headers
    ).json["id"]
    assert _titles(app, ada, project_id) == ["first", "second"]
    client.patch(f"/api/v1/tasks/{task_id}", json={"title": "renamed"}, headers=ada.headers)
    assert _titles(app, ada, project_id) == ["first", "renamed"]
    assert "renamed" in ada.client.get(f"/projects/{project_id}").get_data(as_text=True)

    assert grace.client.get(f"/projects/{project_id}").status_code == 404  # cached as not a member
    post_form(
        ada.client,
        f"/projects/{project_id}",
        f"/projects/{project_id}/members",
        {"email": grace.email, "role": "member"},
    )
    assert grace.client.get(f"/projects/{project_id}").status_code == 200

    page_hits = _lookups("project", "hit")
    ada.client.get(f"/projects/{project_id}")
    assert _lookups("project", "hit") > page_hits
    client.delete(f"/api/v1/tasks/{task_id}", headers=ada.headers)
    assert _titles(app, ada, project_id) == ["first"]
    assert "renamed" not in ada.client.get(f"/projects/{project_id}").get_data(as_text=True)

    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'loom_web_cache_lookups_total{result="hit",what="tasks"}' in metrics
    assert 'loom_web_cache_lookups_total{result="miss",what="project"}' in metrics


def test_the_in_process_cache_reads_through_and_is_invalidated_by_writes(app: Flask) -> None:
    assert app.config["CACHE_TYPE"] == "SimpleCache"
    _check_read_through_and_invalidation(app)


def test_the_redis_cache_reads_through_and_is_invalidated_by_writes(
    make_settings: Callable[..., Settings], redis_prefix: str
) -> None:
    app = redis_app(make_settings, redis_prefix)
    try:
        assert app.config["CACHE_TYPE"] == "RedisCache"
        _check_read_through_and_invalidation(app)
        connection = redis.Redis.from_url(REDIS_URL)
        assert any(connection.scan_iter(f"{redis_prefix}project:*"))
        connection.close()
    finally:
        database(app).dispose()


def test_a_write_in_one_process_is_seen_by_another_through_redis(
    make_settings: Callable[..., Settings], redis_prefix: str
) -> None:
    """Two app instances on one database and one Redis, like two gunicorn workers."""
    first, second = redis_app(make_settings, redis_prefix), redis_app(make_settings, redis_prefix)
    try:
        ada = register(first, "Ada")
        project_id = (
            first.test_client()
            .post("/api/v1/projects", json={"name": "Shared"}, headers=ada.headers)
            .json["id"]
        )
        assert _titles(second, ada, project_id) == []  # cached by the second
        first.test_client().post(
            f"/api/v1/projects/{project_id}/tasks", json={"title": "new"}, headers=ada.headers
        )
        assert _titles(second, ada, project_id) == ["new"]
    finally:
        database(first).dispose()
        database(second).dispose()


def test_several_workers_without_redis_share_a_cache_on_disk(
    make_settings: Callable[..., Settings],
) -> None:
    """An in-process cache per gunicorn worker would serve pages another worker changed."""
    settings = make_settings("web", env="dev", http_workers=2)
    first, second = create_app(settings), create_app(settings)
    try:
        assert first.config["CACHE_TYPE"] == "FileSystemCache"
        ada = register(first, "Ada")
        project_id = (
            first.test_client()
            .post("/api/v1/projects", json={"name": "Shared"}, headers=ada.headers)
            .json["id"]
        )
        assert _titles(second, ada, project_id) == []
        first.test_client().post(
            f"/api/v1/projects/{project_id}/tasks", json={"title": "new"}, headers=ada.headers
        )
        assert _titles(second, ada, project_id) == ["new"]
    finally:
        database(first).dispose()
        database(second).dispose()
