"""The worker's HTTP API: ``gunicorn -c python:loom_common.gunicorn_conf 'loom_worker.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from loom_common import flask_app
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_common.settings import Settings
from loom_worker.api import api
from loom_worker.extensions import AppSettings, spec
from loom_worker.queues_api import queues_api
from loom_worker.worker_settings import WorkerSettings, load_worker_settings


def create_app(settings: Settings | None = None, worker: WorkerSettings | None = None) -> Flask:
    settings = init_process("worker", settings)
    worker = worker or load_worker_settings()
    app = Flask(__name__)
    # Job arguments are small; anything larger is refused with 413 before it is read.
    app.config["MAX_CONTENT_LENGTH"] = worker.max_request_bytes
    app.extensions["loom_worker_settings"] = AppSettings(settings, worker)
    flask_app.init_app(app, settings, spec=spec, database=Database.for_service(settings, "worker"))
    app.register_blueprint(api)
    app.register_blueprint(queues_api)
    return app
