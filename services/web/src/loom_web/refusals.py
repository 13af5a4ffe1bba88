"""How refusals look: the house JSON error on ``/api/``, a short HTML page elsewhere; and
every refusal counted on /metrics by reason."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from loom_common.api_errors import error_response, is_api_request, note_refusal
from loom_web.metrics import REFUSED
from loom_web.projects.rules import ProductError

_REASONS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


def _count_refusal(response: Response) -> Response:
    reason = _REASONS.get(response.status_code)
    if reason:  # 429s are counted where they are answered, with their own reason
        REFUSED.labels(reason).inc()
    return response


def _page(status: int, title: str, message: str) -> Response:
    body = render_template("message.html", title=title, message=message)
    return Response(body, status=status, mimetype="text/html")


def _product_error(error: ProductError) -> Response:
    if is_api_request():
        fields = {error.field: error.message} if error.field else None
        return error_response(error.status, error.message, fields=fields)
    return _page(error.status, "Not possible", error.message)


def _csrf_error(error: CSRFError) -> Response:
    REFUSED.labels("csrf").inc()
    note_refusal("csrf")
    message = (
        f"The form could not be accepted ({error.description}). Reload the page and try again."
    )
    return _page(400, "Form expired", message)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if is_api_request():  # the house JSON error, as loom_common.api_errors answers
        headers = {
            k: v
            for k, v in error.get_headers()
            if k.lower() not in ("content-type", "content-length")
        }
        return error_response(status, error.description or error.name, headers=headers)
    return _page(status, error.name, error.description or error.name)


def init_app(app: Flask) -> None:
    app.register_error_handler(ProductError, _product_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.after_request(_count_refusal)
    for status in (400, 403, 404, 405, 409, 413):
        app.register_error_handler(status, _http_error)
