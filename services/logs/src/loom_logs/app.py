"""The logs service: ``gunicorn -c python:loom_common.gunicorn_conf 'loom_logs.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from loom_common import flask_app
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_common.settings import Settings
from loom_logs.api import api
from loom_logs.extensions import spec


def create_app(settings: Settings | None = None) -> Flask:
    settings = init_process("logs", settings)
    app = Flask(__name__)
    database = Database(settings.database_url("logs"))
    app.register_blueprint(api)
    flask_app.init_app(app, settings, spec=spec, database=database)
    return app
