"""Bearer-token auth for every ``/api/`` route.

The operator token (``LOOM_API_TOKEN``) is always accepted; a service may add verifiers
(the web app's per-user tokens) or mark a view public with :func:`public` (ingest endpoints
that check their own keys).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from loom_common.api_errors import ApiError

TokenVerifier = Callable[[str], Any]  # returns the caller (truthy) or None
View = TypeVar("View", bound=Callable[..., Any])

_PUBLIC_ATTRIBUTE = "_loom_public"


def public(view: View) -> View:
    """Let a view under /api/ through without the bearer token."""
    setattr(view, _PUBLIC_ATTRIBUTE, True)
    return view


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authenticate() -> None:
    if not request.path.startswith("/api/") or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, _PUBLIC_ATTRIBUTE, False):
        return
    token = bearer_token()
    if token is None:
        raise ApiError(
            401,
            "missing bearer token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="loom"'},
        )
    operator_token: str = current_app.config["LOOM_API_TOKEN"]
    if hmac.compare_digest(token.encode(), operator_token.encode()):
        g.caller = "operator"
        return
    for verify in current_app.extensions.get("loom_token_verifiers", []):
        caller = verify(token)
        if caller:
            g.caller = caller
            return
    raise ApiError(
        401, "invalid bearer token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def add_token_verifier(app: Flask, verify: TokenVerifier) -> None:
    app.extensions.setdefault("loom_token_verifiers", []).append(verify)


def init_app(app: Flask, operator_token: str) -> None:
    app.config["LOOM_API_TOKEN"] = operator_token
    app.before_request(_authenticate)
