"""The web app: ``gunicorn -c python:loom_common.gunicorn_conf 'loom_web.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from loom_common import flask_app, page_headers
from loom_common.auth import add_token_verifier
from loom_common.db import Database
from loom_common.outbox import Outbox
from loom_common.runtime import init_process
from loom_common.settings import Settings
from loom_web import refusals
from loom_web.accounts import login_sessions, rate_limits
from loom_web.accounts.pages import account_pages
from loom_web.accounts.passwords import use_fast_hashing_for_tests
from loom_web.api.greetings import api
from loom_web.api.tokens import verify_token
from loom_web.api.v1_internal import api_internal
from loom_web.api.v1_projects import api_projects
from loom_web.api.v1_tokens import api_tokens
from loom_web.config import WebConfig, load_web_config
from loom_web.debug import debug
from loom_web.extensions import csrf, spec
from loom_web.models import OUTBOX
from loom_web.pages import pages
from loom_web.projects import cache as project_cache
from loom_web.projects.pages import project_pages


def create_app(settings: Settings | None = None, config: WebConfig | None = None) -> Flask:
    """``config``: the web app's own knobs (body limit, log-in limits, cache and limiter key
    prefixes), read from ``LOOM_WEB_*`` when not given."""
    settings = init_process("web", settings)
    config = config or load_web_config()
    if settings.env == "test":
        use_fast_hashing_for_tests()
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env not in ("dev", "test"),
        LOOM_WEB_URL=settings.service_url("web"),
        LOOM_WORKER_URL=settings.service_url("worker"),
    )
    database = Database.for_service(settings, "web")
    Outbox(database, OUTBOX).attach()  # jobs asked for survive a broker away at commit time
    flask_app.init_app(app, settings, config=config, spec=spec, database=database, sessions=True)

    api_blueprints = [api, api_tokens, api_projects, api_internal]
    page_blueprints = [pages, account_pages, project_pages]
    for blueprint in (*api_blueprints, *page_blueprints):
        app.register_blueprint(blueprint)
    if settings.env in ("dev", "test"):
        app.register_blueprint(debug)

    csrf.init_app(app)
    for blueprint in (*api_blueprints, debug):  # bearer tokens, not cookies: no CSRF to forge
        csrf.exempt(blueprint)
    add_token_verifier(app, verify_token)
    page_headers.init_app(app)
    login_sessions.init_app(app)
    rate_limits.init_app(app, settings, config)
    project_cache.init_app(app, settings, config)
    refusals.init_app(app)
    return app
