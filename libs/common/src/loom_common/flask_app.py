"""``init_app``: what every Loom Flask app gets, wired in one place and in one order."""

from __future__ import annotations

from typing import Any, TypeVar

import dramatiq.errors
from flask import Flask, Response, current_app
from flask.sessions import SessionInterface, SessionMixin
from loguru import logger
from pydantic_settings import BaseSettings
from spectree import SpecTree
from sqlalchemy.exc import DBAPIError
from werkzeug.middleware.proxy_fix import ProxyFix

from loom_common import (
    api_errors,
    auth,
    bounded_ints,
    content_types,
    flask_capture,
    health,
    json_bodies,
    openapi,
    request_ids,
    sensitive_views,
)
from loom_common.api_errors import error_response
from loom_common.broker import MessageNotSent
from loom_common.db import Database
from loom_common.db_failover import is_outage
from loom_common.health import Readiness, broker_check
from loom_common.metrics import DB_OUTAGE_REFUSALS, render_metrics
from loom_common.settings import Settings

Config = TypeVar("Config", bound=BaseSettings)

# Where every service's app holds the shared settings and its own typed config.
SETTINGS_KEY = "loom_settings"
CONFIG_KEY = "loom_config"


class _NoSessions(SessionInterface):
    """API services keep no cookie session (``flask.session`` is a read-only null session)."""

    def open_session(self, app: Flask, request: Any) -> None:
        return None

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        return None


def init_app(
    app: Flask,
    settings: Settings,
    *,
    config: BaseSettings | None = None,
    spec: SpecTree,
    database: Database | None = None,
    sessions: bool = False,
) -> None:
    """Bounded ``<int:>`` routes, request ids and access logs, JSON API errors, error capture,
    bearer auth, health, metrics, OpenAPI. Call it before registering blueprints.

    ``settings`` (shared by every service) and ``config`` (the service's own typed settings)
    are held on the app: views read them with :func:`current_settings` and
    :func:`current_config`, so two apps in one process (as in tests) never see each other's.

    ``sessions``: cookie sessions for services with login pages. Off, Flask skips opening
    and saving a signed cookie session on every request (a third of a small request's cost).
    """
    bounded_ints.init_app(app)  # first: routes are bound to their converters when added
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[CONFIG_KEY] = config
    app.config["LOOM_SERVICE"] = settings.service or "loom"
    app.config["SECRET_KEY"] = settings.secret_key.get_secret_value()
    if not sessions:
        app.session_interface = _NoSessions()
    app.config.setdefault("MAX_CONTENT_LENGTH", 10 * 1024 * 1024)
    app.json = json_bodies.BoundedJSONProvider(app)  # deep bodies: 400, never RecursionError
    app.json.sort_keys = False
    request_ids.init_app(app)
    if settings.trusted_proxies:
        # Outermost, so the access log, rate limits and sessions see the client's address.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )
    auth.init_app(app, settings.api_token.get_secret_value())  # 401 before any body check
    api_errors.init_app(app)
    content_types.init_app(app, spec)  # 415 before a view finds no body to read
    sensitive_views.init_app(app)
    flask_capture.init_app(app)

    checks = {"broker": broker_check(settings.broker_url)}
    if database is not None:
        checks["database"] = database.ping
        app.extensions["loom_database"] = database
    health.init_app(
        app,
        Readiness(checks),
        release=settings.release,
        show_details=settings.env in ("dev", "test"),
    )

    @app.get("/metrics")
    def metrics() -> Response:
        body, content_type = render_metrics()
        return Response(body, content_type=content_type)

    openapi.init_app(app, spec)
    app.register_error_handler(dramatiq.errors.BrokerConnectionError, _broker_unavailable)
    app.register_error_handler(MessageNotSent, _committed_but_not_queued)
    app.register_error_handler(DBAPIError, _database_unavailable)


def _database_unavailable(error: DBAPIError) -> Response:
    """During a failover (no writable primary for some seconds) a request is refused with 503
    and Retry-After; any other database error stays a 500. (A write cut off during COMMIT may
    have been saved: a retry is safe where the endpoint is idempotent, e.g. a job's key.)"""
    if not is_outage(error):
        raise error
    DB_OUTAGE_REFUSALS.labels(current_app.config["LOOM_SERVICE"]).inc()
    logger.warning("database primary unreachable: {}", type(error.orig).__name__)
    return error_response(
        503,
        "the database is unreachable (failing over?); try again shortly",
        code="database_unavailable",
        headers={"Retry-After": "5"},
    )


def _broker_unavailable(error: Exception) -> Response:
    """An outage, not a bug: the caller is told to come back, nothing is half done."""
    logger.warning("message broker unreachable: {}", error)
    return error_response(
        503,
        "the message broker is unreachable, nothing was queued; try again shortly",
        code="broker_unavailable",
        headers={"Retry-After": "5"},
    )


def _committed_but_not_queued(error: Exception) -> Response:
    """The rows were committed before the broker refused their message (send_after_commit):
    the caller must not be told "nothing happened", nor "accepted"."""
    return error_response(
        503,
        "the change was saved, but the background work it asks for could not be queued"
        " (the message broker is unreachable) and will not run",
        code="broker_unavailable",
        headers={"Retry-After": "5"},
    )


def app_database(app: Flask) -> Database:
    """The database ``init_app`` was given for ``app``."""
    database: Database = app.extensions["loom_database"]
    return database


def current_database() -> Database:
    """The database of the app handling the current request."""
    return app_database(current_app)


def app_settings(app: Flask) -> Settings:
    """The shared settings ``init_app`` was given for ``app``."""
    settings: Settings = app.extensions[SETTINGS_KEY]
    return settings


def current_settings() -> Settings:
    """The shared settings of the app handling the current request."""
    return app_settings(current_app)


def service_config(app: Flask, kind: type[Config]) -> Config:
    """The service's own config ``init_app`` was given for ``app``, checked to be a ``kind``
    (so a caller gets its fields typed, and a mix-up fails loudly rather than by a missing
    attribute later)."""
    config = app.extensions.get(CONFIG_KEY)
    if not isinstance(config, kind):
        raise TypeError(f"{app.name} holds a {type(config).__name__}, not a {kind.__name__}")
    return config


def current_config(kind: type[Config]) -> Config:
    """The service's own config of the app handling the current request."""
    return service_config(current_app, kind)
