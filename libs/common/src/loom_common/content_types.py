"""415 for a request body of a content type its API view does not declare.

A view decorated with ``@spec.validate(json=Model)`` reads its body as JSON only; sent as
``multipart/form-data`` or ``text/plain``, spectree would hand it no body at all and the view
would fail on ``None``. Here such a request is refused, naming the accepted type, before the
view runs. Views without a body model (the ingest endpoints, which read their own Sentry
envelopes, JSON lines, GELF or Loki bodies) are left alone.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from spectree import SpecTree

from loom_common.api_errors import error_response, is_api_request

JSON = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_BODYLESS_METHODS = ("GET", "HEAD", "OPTIONS", "DELETE")


def declared_types(spec: SpecTree, view: object) -> tuple[str, ...]:
    """The body content types ``view`` declares through ``spec`` (none: it reads no model)."""
    metadata = spec.get_function_metadata(view)  # type: ignore[arg-type]
    if metadata is None:
        return ()
    types: tuple[str, ...] = ()
    if getattr(metadata, "json", None):
        types += (JSON,)
    if getattr(metadata, "form", None):
        types += FORM_TYPES
    return types


def _accepted(mimetype: str, types: tuple[str, ...]) -> bool:
    if JSON in types and request.is_json:  # application/json and application/*+json
        return True
    return mimetype in types


def _refuse_undeclared_content_type() -> Response | None:
    if not is_api_request() or request.method in _BODYLESS_METHODS:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    spec: SpecTree | None = current_app.extensions.get("loom_spec")
    if view is None or spec is None:
        return None
    types = declared_types(spec, view)
    if not types:
        return None
    mimetype = request.mimetype
    if not mimetype and not request.content_length:
        return None  # no body at all: the model's defaults apply, or it names what is missing
    if _accepted(mimetype, types):
        return None
    sent = f"Content-Type {mimetype!r}" if mimetype else "a body without a Content-Type"
    return error_response(415, f"{sent} is not accepted here: send {' or '.join(types)}")


def init_app(app: Flask, spec: SpecTree) -> None:
    app.extensions["loom_spec"] = spec
    app.before_request(_refuse_undeclared_content_type)
