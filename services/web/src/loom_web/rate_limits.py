"""Log-in attempts limited per account and per address (Flask-Limiter).

Storage is Redis when ``LOOM_CACHE_URL`` is set (every gunicorn worker and host counts
together), memory otherwise. A refusal is 429 with ``Retry-After``: JSON on the API, the
log-in page with a message on pages.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, current_app, render_template, request
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from loom_common.api_errors import error_response, is_api_request
from loom_common.settings import Settings
from loom_web.accounts import normalise_email
from loom_web.extensions import limiter
from loom_web.web_metrics import REFUSED

View = TypeVar("View", bound=Callable[..., Any])
LIMITED_METHODS = ("POST",)


@limiter.request_filter
def _not_limited() -> bool:
    """Only log-ins are limited, and only their POSTs: every other request skips the
    limiter's per-request work (resolving the view's limits) from the start."""
    return request.method not in LIMITED_METHODS


def _per_account() -> str:
    return str(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"])


def _per_address() -> str:
    return str(current_app.config["LOGIN_LIMIT_PER_ADDRESS"])


def _account_key() -> str:
    """The account being tried, from the form or the JSON body."""
    email = request.form.get("email")
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    return "login-account:" + normalise_email(email if isinstance(email, str) else "")


def _address_key() -> str:
    return "login-address:" + (get_remote_address() or "")


def login_limited(view: View) -> View:
    """Decorate a view that checks a password (outermost, right under the route)."""
    # Shared limits: the log-in page and the API's token log-in count together.
    by_address = limiter.shared_limit(
        _per_address, scope="login-address", key_func=_address_key, methods=list(LIMITED_METHODS)
    )(view)
    by_account = limiter.shared_limit(
        _per_account, scope="login-account", key_func=_account_key, methods=list(LIMITED_METHODS)
    )
    return cast(View, by_account(by_address))


def _retry_after_seconds() -> int:
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _too_many_attempts(_error: Exception) -> Response:
    REFUSED.labels("rate_limited").inc()
    retry_after = _retry_after_seconds()
    headers = {"Retry-After": str(retry_after)}
    message = f"too many log-in attempts; try again in {retry_after} seconds"
    if is_api_request():
        return error_response(429, message, headers=headers)
    page = render_template("login.html", form=None, error=message.capitalize() + ".")
    return Response(page, status=429, headers=headers, mimetype="text/html")


def init_app(app: Flask, settings: Settings) -> None:
    app.config.setdefault("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute")
    app.config.setdefault("LOGIN_LIMIT_PER_ADDRESS", "30 per minute")
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.cache_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "loom-web-limits")
    limiter.init_app(app)
    app.register_error_handler(429, _too_many_attempts)
