"""The errors service: ``gunicorn -c python:loom_common.gunicorn_conf 'loom_errors.app:create_app()'``.

Events arrive over RabbitMQ (see actors.py); this app serves what was stored.
"""

from __future__ import annotations

from flask import Flask

from loom_common import flask_app
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_common.settings import Settings
from loom_errors import cli, pages
from loom_errors.api.issues import api
from loom_errors.api.projects import projects_api
from loom_errors.config import ErrorsConfig, load_errors_config
from loom_errors.extensions import spec
from loom_errors.ingest.sentry_api import sentry_api
from loom_errors.pages.issues import issue_pages
from loom_errors.pages.projects import project_pages


def create_app(settings: Settings | None = None, config: ErrorsConfig | None = None) -> Flask:
    """``config``: the service's own knobs, read from ``LOOM_ERRORS_*`` when not given."""
    settings = init_process("errors", settings)
    config = config or load_errors_config()
    app = Flask(__name__)
    database = Database.for_service(settings, "errors")
    flask_app.init_app(app, settings, config=config, spec=spec, database=database, sessions=True)
    pages.init_app(app, settings)
    for blueprint in (api, projects_api, sentry_api, issue_pages, project_pages):
        app.register_blueprint(blueprint)
    cli.init_app(app)
    return app
