"""Limits on the forms that check a password or send an email (Flask-Limiter).

- Log-in (page and API together): per client address, and per account *from one address*.
  Five wrong passwords for an account stop only the address that tried them: the owner,
  elsewhere, still gets in (a per-account lock would let anyone lock anyone out).
- Password-reset requests and registrations: per client address and per target email,
  since each sends an email.

The client address is ``request.remote_addr``, which is the client's own only behind a proxy
named in ``LOOM_TRUSTED_PROXIES`` (see ``loom_common.flask_app``); behind nginx without it,
every client would be 127.0.0.1 and share one limit.

Storage is Redis when ``LOOM_CACHE_URL`` is set (every gunicorn worker and host counts
together), memory otherwise. A refusal is 429 with ``Retry-After``: JSON on the API, the
form's page with a message on pages.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, render_template, request
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from loom_common.api_errors import error_response, is_api_request
from loom_common.flask_app import current_config
from loom_common.settings import Settings
from loom_web.accounts.users import normalise_email
from loom_web.config import WebConfig
from loom_web.extensions import limiter
from loom_web.metrics import REFUSED

View = TypeVar("View", bound=Callable[..., Any])
LIMITED_METHODS = ("POST",)
_LOG_IN_ENDPOINTS = frozenset({"account_pages.login", "api_v1_tokens.log_in_for_token"})


@limiter.request_filter
def _not_limited() -> bool:
    """Only POSTs of the limited forms are limited: every other request skips the
    limiter's per-request work (resolving the view's limits) from the start."""
    return request.method not in LIMITED_METHODS


def _config(field: str) -> Callable[[], str]:
    """The limit named by ``field`` of the app's WebConfig, read at each request."""
    return lambda: str(getattr(current_config(WebConfig), field))


def _email() -> str:
    """The account or address the form is about, from the form or the JSON body."""
    email = request.form.get("email")
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    return normalise_email(email if isinstance(email, str) else "")


def _address() -> str:
    return get_remote_address() or ""


def _email_key(with_address: bool) -> str:
    if with_address:  # log-in: the page and the API count together
        return f"{_email()}|{_address()}"
    return f"{request.endpoint}|{_email()}"  # each email-sending form on its own


def _limited(
    view: View, action: str, by_address: str, by_email: str, *, with_address: bool
) -> View:
    """``view`` under a per-address limit shared by every view of ``action``, and a
    per-email one (per email and address when ``with_address``)."""
    address_limit = limiter.shared_limit(
        _config(by_address),
        scope=f"{action}-address",
        key_func=lambda: f"{action}-address:{_address()}",
        methods=list(LIMITED_METHODS),
    )
    email_limit = limiter.shared_limit(
        _config(by_email),
        scope=f"{action}-email",
        key_func=lambda: f"{action}-email:{_email_key(with_address)}",
        methods=list(LIMITED_METHODS),
    )
    return cast(View, email_limit(address_limit(view)))


def login_limited(view: View) -> View:
    """Decorate a view that checks a password (outermost, right under the route)."""
    # Shared limits: the log-in page and the API's token log-in count together.
    return _limited(
        view, "login", "login_limit_per_address", "login_limit_per_account", with_address=True
    )


def email_sending_limited(view: View) -> View:
    """Decorate a form that emails the address it is given (reset requests, registration)."""
    return _limited(
        view, "emails", "email_limit_per_address", "email_limit_per_email", with_address=False
    )


def _retry_after_seconds() -> int:
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _too_many_attempts(_error: Exception) -> Response:
    REFUSED.labels("rate_limited").inc()
    retry_after = _retry_after_seconds()
    headers = {"Retry-After": str(retry_after)}
    what = "log-in attempts" if request.endpoint in _LOG_IN_ENDPOINTS else "requests"
    message = f"too many {what}; try again in {retry_after} seconds"
    if is_api_request():
        return error_response(429, message, headers=headers)
    if request.endpoint in _LOG_IN_ENDPOINTS:
        page = render_template("login.html", form=None, error=message.capitalize() + ".")
    else:
        page = render_template(
            "message.html", title="Too many requests", message=message.capitalize() + "."
        )
    return Response(page, status=429, headers=headers, mimetype="text/html")


def init_app(app: Flask, settings: Settings, config: WebConfig) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.cache_url or "memory://")
    app.config["RATELIMIT_KEY_PREFIX"] = config.rate_limit_key_prefix
    limiter.init_app(app)
    app.register_error_handler(429, _too_many_attempts)
