"""Read-through cache of projects, their pages and task lists, with one version key per project.

Every write that changes a project (its tasks, its members) calls :func:`mark_project_changed`,
which gives the project a new version once the transaction commits; cached entries name the
version they were built for, so stale ones are never read again and simply expire. What is
cached is typed (a :class:`ProjectView`, export records, a page body, JSON bytes), never a
loose dict.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from flask import Flask, g
from sqlalchemy.orm import Session

from loom_common.after_commit import after_commit
from loom_common.flask_app import current_database
from loom_common.settings import Settings
from loom_web.config import WebConfig
from loom_web.extensions import cache
from loom_web.metrics import CACHE_LOOKUPS
from loom_web.projects import queries
from loom_web.projects.queries import TaskFilters
from loom_web.projects.snapshots import ProjectView

T = TypeVar("T")
ENTRY_SECONDS = 300


def _version_key(project_id: int) -> str:
    return f"project:{project_id}:version"


def _known_versions() -> dict[int, str]:
    """The versions this request has already read: a page asks for several entries of one
    project, and one request sees one version (its own writes move it, below)."""
    known: dict[int, str] = g.setdefault("loom_project_versions", {})
    return known


def _project_version(project_id: int) -> str:
    known = _known_versions()
    if project_id in known:
        return known[project_id]
    version: str | None = cache.get(_version_key(project_id))
    if version is None:
        version = secrets.token_hex(8)
        # add, not set: two first readers racing agree on the version that stuck.
        if not cache.add(_version_key(project_id), version, timeout=0):
            version = cache.get(_version_key(project_id)) or version
    known[project_id] = version
    return version


def invalidate_project(project_id: int) -> None:
    version = secrets.token_hex(8)
    cache.set(_version_key(project_id), version, timeout=0)
    _known_versions()[project_id] = version


def read_through(what: str, project_id: int, variant: str, build: Callable[[], T]) -> T:
    """The cached value for this project version, else ``build()`` (stored for the next reader)."""
    key = f"project:{project_id}:{_project_version(project_id)}:{what}:{variant}"
    cached: Any = cache.get(key)
    if cached is not None:
        CACHE_LOOKUPS.labels(what, "hit").inc()
        return cached
    CACHE_LOOKUPS.labels(what, "miss").inc()
    value = build()
    cache.set(key, value, timeout=ENTRY_SECONDS)
    return value


def mark_project_changed(session: Session, project_id: int) -> None:
    """Move the project's cached reads to a new version once ``session`` commits."""
    after_commit(
        session, partial(invalidate_project, project_id), key=("project_changed", project_id)
    )


def project_view(project_id: int) -> ProjectView | None:
    """The project and its members (cached): what the pages and every access check need."""

    def build() -> ProjectView | None:
        with current_database().session() as session:
            return queries.load_project_view(session, project_id)

    return read_through("project", project_id, "page", build)


def task_page_variant(filters: TaskFilters, limit: int, cursor: str | None) -> str:
    """What names one page of a task list inside a project version (a 400 for a bad cursor)."""
    return f"{filters.key()}:{limit}:{queries.after_id(cursor)}"


def init_app(app: Flask, settings: Settings, config: WebConfig) -> None:
    if settings.cache_url:
        app.config.setdefault("CACHE_TYPE", "RedisCache")
        app.config.setdefault("CACHE_REDIS_URL", settings.cache_url)
    elif settings.http_workers > 1 and settings.env != "test":
        # Several gunicorn workers without Redis: a per-process cache would let one worker
        # serve a page another worker's write has changed; files under var/ are shared.
        app.config.setdefault("CACHE_TYPE", "FileSystemCache")
        app.config.setdefault("CACHE_DIR", str(settings.var_dir / "cache" / "web"))
    else:
        app.config.setdefault("CACHE_TYPE", "SimpleCache")
    app.config["CACHE_KEY_PREFIX"] = config.cache_key_prefix
    app.config.setdefault("CACHE_DEFAULT_TIMEOUT", ENTRY_SECONDS)
    cache.init_app(app)
