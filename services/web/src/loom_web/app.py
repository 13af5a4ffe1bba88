"""The web app: ``gunicorn -c python:loom_common.gunicorn_conf 'loom_web.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from loom_common import flask_app
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_common.settings import Settings
from loom_web.api import api
from loom_web.debug import debug
from loom_web.extensions import spec
from loom_web.pages import pages


def create_app(settings: Settings | None = None) -> Flask:
    settings = init_process("web", settings)
    app = Flask(__name__)
    database = Database(settings.database_url("web"))
    app.register_blueprint(api)
    app.register_blueprint(pages)
    if settings.env in ("dev", "test"):
        app.register_blueprint(debug)
    flask_app.init_app(app, settings, spec=spec, database=database, sessions=True)
    return app
