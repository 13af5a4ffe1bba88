"""JSON errors for ``/api/`` routes: ``{"error": {"code": ..., "message": ...}}`` with the status.

Views raise :class:`ApiError` (or any werkzeug ``HTTPException``); nothing under ``/api/``
answers with an HTML page or a traceback.

A refusal counts itself: every 4xx answered here (and every page refusal, through
:func:`note_refusal`) is counted once in ``loom_http_requests_refused_total`` by service and
reason, and its reason is kept for the request (:func:`refusal_reason`), so a service that
counts refusals its own way too reads it there instead of from the response body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from flask import Flask, Response, current_app, g, has_request_context, request
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from loom_common.json_bodies import loads_bounded
from loom_common.metrics import HTTP_REQUESTS_REFUSED

View = TypeVar("View", bound=Callable[..., Any])
_JSON_CHECKED = "_loom_json_checked"
_REFUSAL_KEY = "loom_refusal_reason"

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.fields = fields
        self.headers = headers or {}


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    code = code or _CODES.get(status, "error")
    if 400 <= status < 500:
        note_refusal(code)
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = Response(orjson.dumps({"error": body}), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def note_refusal(reason: str) -> None:
    """Count this request as refused for ``reason`` (once, whatever answers it)."""
    if not has_request_context() or g.get(_REFUSAL_KEY):
        return
    g.setdefault(_REFUSAL_KEY, reason)
    HTTP_REQUESTS_REFUSED.labels(current_app.config.get("LOOM_SERVICE", "loom"), reason).inc()


def refusal_reason(response: Response) -> str:
    """Why this request was refused: the reason noted, else the status's usual code."""
    reason = g.get(_REFUSAL_KEY)
    return str(reason) if reason else _CODES.get(response.status_code, str(response.status_code))


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _handle_api_error(error: ApiError) -> Response:
    return error_response(
        error.status, error.message, code=error.code, fields=error.fields, headers=error.headers
    )


def _handle_http_exception(error: HTTPException) -> Response | HTTPException:
    if not is_api_request():
        return error
    status = error.code or 500
    headers = {
        k: v for k, v in error.get_headers() if k.lower() not in ("content-type", "content-length")
    }
    message = error.description or error.name
    if isinstance(error, RequestEntityTooLarge):
        note_refusal("body_too_large")
    if isinstance(error, InternalServerError):
        message = "internal error; it has been reported"
    return error_response(status, message, headers=headers)


def _reject_malformed_json() -> Response | None:
    """A body that claims to be JSON must parse: 400 naming the problem, before any view runs."""
    if not is_api_request() or not request.is_json or not request.content_length:
        return None
    if request.headers.get("Content-Encoding"):
        return None  # compressed: the view decodes it and names a malformed body itself
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "_loom_public", False) and not getattr(view, _JSON_CHECKED, False):
        # Public views (ingest endpoints, see auth.public) check their own key before reading
        # a body, and parse it themselves.
        return None
    try:
        loads_bounded(request.get_data(cache=True))
    except ValueError as error:
        note_refusal("malformed_json")
        return error_response(400, f"malformed JSON body: {error}")
    return None


def json_checked(view: View) -> View:
    """Have a public view's JSON body checked like any other (one that needs no key first)."""
    setattr(view, _JSON_CHECKED, True)
    return view


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.before_request(_reject_malformed_json)
