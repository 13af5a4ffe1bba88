"""``X-Request-ID`` in and out of every request, one access log record and the HTTP metrics.

A WSGI middleware around the Flask app rather than Flask hooks: it runs on every request,
and three hooks with their proxies cost about as much as serving a small request.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Request

from loom_common.db_routing import start_unit_of_work
from loom_common.log_setup import log_structured
from loom_common.metrics import HTTP_DURATION, HTTP_REQUESTS
from loom_common.request_context import accept_request_id, request_id_var
from loom_common.sensitive_views import is_sensitive

HEADER = "X-Request-ID"
_ENVIRON_HEADER = "HTTP_X_REQUEST_ID"

# Label values come from a small set, whatever clients send, to bound the series.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# Looking a labelled child up costs as much as counting with it; the label sets are few.
@functools.cache
def _request_counter(service: str, method: str, endpoint: str, status: int) -> Any:
    return HTTP_REQUESTS.labels(service, method, endpoint, str(status))


@functools.cache
def _duration_histogram(service: str, endpoint: str) -> Any:
    return HTTP_DURATION.labels(service, endpoint)


_REQUEST_KEY = "loom.request"


def _matched_rule(environ: dict[str, Any]) -> str:
    rule = getattr(environ.get(_REQUEST_KEY), "url_rule", None)
    return rule.rule if rule is not None else "<unmatched>"


def _logged_path(environ: dict[str, Any], view_functions: dict[str, Any]) -> str:
    """The path, or the route template for a view marked sensitive (its path holds a secret)."""
    rule = getattr(environ.get(_REQUEST_KEY), "url_rule", None)
    if rule is not None and is_sensitive(view_functions.get(rule.endpoint)):
        return str(rule.rule)
    return str(environ.get("PATH_INFO", ""))


def _request_class_leaving_itself_in_environ(base: type[Request]) -> type[Request]:
    """Flask's request object, reachable from the environ after the app ran, so that the
    middleware can label metrics with the matched route (set when Flask routed it)."""

    class LoomRequest(base):  # type: ignore[valid-type,misc]
        def __init__(self, environ: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            super().__init__(environ, *args, **kwargs)
            environ[_REQUEST_KEY] = self

    return LoomRequest


class RequestIdMiddleware:
    def __init__(
        self, app: WSGIApp, service: str, view_functions: dict[str, Any] | None = None
    ) -> None:
        self.app = app
        self.service = service
        self.view_functions = view_functions if view_functions is not None else {}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = accept_request_id(environ.get(_ENVIRON_HEADER))
        token = request_id_var.set(request_id)
        start_unit_of_work()
        status_code = 500

        def start_with_request_id(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            nonlocal status_code
            status_code = int(status[:3])
            headers.append((HEADER, request_id))
            return start_response(status, headers, *args)

        try:
            return self.app(environ, start_with_request_id)
        finally:
            self._record(environ, status_code, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, environ: dict[str, Any], status: int, duration: float) -> None:
        method = environ.get("REQUEST_METHOD", "GET")
        endpoint = _matched_rule(environ)
        _request_counter(
            self.service, method if method in _KNOWN_METHODS else "OTHER", endpoint, status
        ).inc()
        _duration_histogram(self.service, endpoint).observe(duration)
        path = _logged_path(environ, self.view_functions)
        duration_ms = round(duration * 1000, 2)
        log_structured(
            "INFO",
            lambda: f"{method} {path} {status} {duration_ms} ms",
            "loom_common.access",
            lambda: {
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "remote_addr": environ.get("REMOTE_ADDR"),
            },
        )


def init_app(app: Flask) -> None:
    app.request_class = _request_class_leaving_itself_in_environ(app.request_class)
    app.wsgi_app = RequestIdMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, app.config["LOOM_SERVICE"], app.view_functions
    )
