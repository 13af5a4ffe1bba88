"""The worker's HTTP API: ``gunicorn -c python:loom_common.gunicorn_conf 'loom_worker.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from loom_common import flask_app
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_common.settings import Settings
from loom_worker.api import api
from loom_worker.config import WorkerConfig, load_worker_config
from loom_worker.extensions import spec
from loom_worker.queues_api import queues_api


def create_app(settings: Settings | None = None, config: WorkerConfig | None = None) -> Flask:
    """``config``: the worker's own knobs, read from ``LOOM_WORKER_*`` when not given."""
    settings = init_process("worker", settings)
    config = config or load_worker_config()
    app = Flask(__name__)
    # Job arguments are small; anything larger is refused with 413 before it is read.
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    database = Database.for_service(settings, "worker")
    flask_app.init_app(app, settings, config=config, spec=spec, database=database)
    for blueprint in (api, queues_api):
        app.register_blueprint(blueprint)
    return app
