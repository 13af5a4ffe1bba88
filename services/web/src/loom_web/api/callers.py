"""Who is calling the API: a person with a personal token, or the operator."""

from __future__ import annotations

from flask import g

from loom_common.api_errors import ApiError
from loom_web.api.tokens import TokenUser


def caller_user() -> TokenUser | None:
    """The person behind a personal token; ``None`` for the operator token."""
    caller = g.get("caller")
    return caller if isinstance(caller, TokenUser) else None


def require_user() -> TokenUser:
    user = caller_user()
    if user is None:
        raise ApiError(403, "this endpoint acts for a person: use a personal API token")
    return user


def require_operator() -> None:
    if g.get("caller") != "operator":
        raise ApiError(403, "this endpoint is for the operator token only")
