"""Read-through cache of project pages and task lists, with one version key per project.

Every write that changes a project (its tasks, its members) calls :func:`invalidate_project`,
which gives the project a new version; cached entries name the version they were built for,
so stale ones are never read again and simply expire.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g

from loom_common.settings import Settings
from loom_web.config import WebConfig
from loom_web.extensions import cache
from loom_web.metrics import CACHE_LOOKUPS

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
