"""Uncaught exceptions in Flask views become error events, with the request attached.

Only the failing request pays: nothing runs on the success path (sentry-sdk's own WSGI
integration wraps every request in scopes and sessions, which halves a small app's speed).
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from flask import Flask, got_request_exception, request

from loom_common.scrubbing import FILTERED, is_secret_key

_SAFE_BODY_BYTES = 10_000
# Who the client is (addresses) is personal data; it stays out of error events.
_PERSONAL_HEADERS = frozenset({"x-forwarded-for", "x-real-ip", "forwarded", "true-client-ip"})


def _scrubbed_headers() -> dict[str, str]:
    return {
        name: FILTERED if is_secret_key(name) or name.lower() in _PERSONAL_HEADERS else value
        for name, value in request.headers.items()
    }


def _request_data() -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": request.base_url,
        "method": request.method,
        "query_string": request.query_string.decode("latin-1"),
        "headers": _scrubbed_headers(),
    }
    if request.content_length and request.content_length <= _SAFE_BODY_BYTES:
        if request.is_json:
            data["data"] = request.get_json(silent=True)
        elif request.form:
            data["data"] = request.form.to_dict()
    return data


def _capture(sender: Flask, exception: BaseException, **_extra: Any) -> None:
    try:
        with sentry_sdk.new_scope() as scope:
            route = request.url_rule.rule if request.url_rule is not None else request.path
            scope.set_transaction_name(f"{request.method} {route}")
            scope.set_tag("route", route)
            scope.set_tag("endpoint", request.endpoint or "")
            request_data = _request_data()
            scope.add_event_processor(lambda event, hint: {**event, "request": request_data})
            sentry_sdk.capture_exception(exception)
    except Exception:  # capture must never turn one failure into two
        pass


def init_app(app: Flask) -> None:
    got_request_exception.connect(_capture, app, weak=False)
