"""The logs service: ``gunicorn -c python:loom_common.gunicorn_conf 'loom_logs.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from loom_common import flask_app
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_common.settings import Settings
from loom_logs.api.logs import api
from loom_logs.config import LogsConfig, load_logs_config
from loom_logs.extensions import spec
from loom_logs.ingest.http_api import ingest
from loom_logs.pages import views as pages
from loom_logs.tail import stream as tail_stream
from loom_logs.tail.sse_api import tail


def create_app(settings: Settings | None = None, config: LogsConfig | None = None) -> Flask:
    """``config``: the service's own knobs, read from ``LOOM_LOGS_*`` when not given."""
    settings = init_process("logs", settings)
    config = config or load_logs_config()
    app = Flask(__name__)
    # Ingest bodies are bounded by the service's own limit (werkzeug enforces it on reads).
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    database = Database.for_service(settings, "logs")
    flask_app.init_app(app, settings, config=config, spec=spec, database=database, sessions=True)
    tail_stream.init_app(app, database, config)
    pages.init_app(app, settings)
    for blueprint in (api, ingest, tail, pages.pages):
        app.register_blueprint(blueprint)
    return app
