"""Views whose address or page holds a secret (a reset token in the path, an API token
shown once): marked with :func:`sensitive`, so that

- the response carries ``Cache-Control: no-store`` (no browser or proxy keeps a copy), and
- the access log records the route template (``/password/reset/<token>``), never the path
  itself, so the secret is neither in the logs nor shipped to the logs service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

View = TypeVar("View", bound=Callable[..., Any])

_ATTRIBUTE = "_loom_sensitive"


def sensitive(view: View) -> View:
    """Mark a view (put it right under the route decorator, above any other)."""
    setattr(view, _ATTRIBUTE, True)
    return view


def is_sensitive(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, _ATTRIBUTE, False))


def _no_store(response: Response) -> Response:
    if is_sensitive(current_app.view_functions.get(request.endpoint or "")):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_no_store)
