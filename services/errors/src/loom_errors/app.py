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
from loom_errors.api import api
from loom_errors.extensions import spec
from loom_errors.projects_api import projects_api
from loom_errors.sentry_api import sentry_api


def create_app(settings: Settings | None = None) -> Flask:
    settings = init_process("errors", settings)
    app = Flask(__name__)
    database = Database.for_service(settings, "errors")
    app.extensions["loom_settings"] = settings
    flask_app.init_app(app, settings, spec=spec, database=database, sessions=True)
    app.register_blueprint(api)
    app.register_blueprint(projects_api)
    app.register_blueprint(sentry_api)
    pages.init_app(app, settings)
    cli.init_app(app)
    return app
