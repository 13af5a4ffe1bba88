"""``X-Request-ID`` in and out of every request, and one access log record per request."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from loguru import logger

from loom_common.metrics import HTTP_DURATION, HTTP_REQUESTS
from loom_common.request_context import accept_request_id, request_id_var

HEADER = "X-Request-ID"


def _start_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = accept_request_id(request.headers.get(HEADER))
    g.request_id_token = request_id_var.set(g.request_id)


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    started = g.get("request_started")
    duration = time.perf_counter() - started if started is not None else 0.0
    endpoint = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    service = current_app.config["LOOM_SERVICE"]
    HTTP_REQUESTS.labels(service, request.method, endpoint, str(response.status_code)).inc()
    HTTP_DURATION.labels(service, endpoint).observe(duration)
    # Keyword arguments land in the record's extra fields (loguru's capture), cheaper than bind().
    logger.info(
        "{method} {path} {status} {duration_ms} ms",
        method=request.method,
        path=request.path,
        status=response.status_code,
        duration_ms=round(duration * 1000, 2),
        remote_addr=request.remote_addr,
    )
    return response


def _clear_request_id(_error: Any) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # torn down in another context: the next request sets its own
            request_id_var.set(None)


def init_app(app: Flask) -> None:
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_clear_request_id)
