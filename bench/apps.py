"""The two apps that bench/web_overhead.py compares, served by the same gunicorn settings."""

from __future__ import annotations

from flask import Flask, jsonify

from loom_common import flask_app
from loom_common.openapi import make_spec
from loom_common.runtime import init_process


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.get("/ping")
    def ping():  # type: ignore[no-untyped-def]
        return jsonify(pong=True)

    return app


def create_loom_app() -> Flask:
    """Loom's full stack: request ids, access log, metrics, log shipping, error capture."""
    settings = init_process("web")
    app = create_bare_app()
    flask_app.init_app(app, settings, spec=make_spec("bench"))
    return app
