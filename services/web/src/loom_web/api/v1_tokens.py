"""``/api/v1`` for accounts: getting a token with a password, and managing personal tokens."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response

from loom_common.api_errors import ApiError, json_checked
from loom_common.auth import public
from loom_common.flask_app import current_database
from loom_web.accounts.rate_limits import login_limited
from loom_web.accounts.users import authenticate
from loom_web.api.callers import require_user
from loom_web.api.schemas import TokenCreated, TokenIn, TokenList, TokenLogin, TokenOut, UserOut
from loom_web.api.tokens import create_token, list_tokens, revoke_token
from loom_web.extensions import spec
from loom_web.metrics import LOGINS

api_tokens = Blueprint("api_v1_tokens", __name__, url_prefix="/api/v1")


def _created(row: object, token: str) -> TokenCreated:
    return TokenCreated(
        **TokenOut.model_validate(row, from_attributes=True).model_dump(), token=token
    )


@api_tokens.post("/auth/token")
@login_limited
@spec.validate(
    json=TokenLogin, resp=Response(HTTP_201=TokenCreated), tags=["accounts"], security={}
)
@json_checked  # no key to check first: a malformed body is a 400 before the limiter reads it
@public
def log_in_for_token(json: TokenLogin) -> tuple[TokenCreated, int]:
    """Log in with email and password; answers a new personal token (shown once)."""
    with current_database().session() as session:
        user = authenticate(session, json.email, json.password)
        if user is None:
            LOGINS.labels("failed").inc()
            raise ApiError(401, "wrong email or password")
        LOGINS.labels("succeeded").inc()
        row, token = create_token(session, user.id, json.name)
        return _created(row, token), 201


@api_tokens.get("/me")
@spec.validate(resp=Response(HTTP_200=UserOut), tags=["accounts"])
def me() -> UserOut:
    """The person the token belongs to."""
    user = require_user()
    return UserOut(id=user.id, name=user.name, email=user.email)


@api_tokens.get("/tokens")
@spec.validate(resp=Response(HTTP_200=TokenList), tags=["accounts"])
def my_tokens() -> TokenList:
    """Your personal tokens that are not revoked (never the tokens themselves)."""
    user = require_user()
    with current_database().session() as session:
        rows = list_tokens(session, user.id)
        return TokenList(items=[TokenOut.model_validate(r, from_attributes=True) for r in rows])


@api_tokens.post("/tokens")
@spec.validate(json=TokenIn, resp=Response(HTTP_201=TokenCreated), tags=["accounts"])
def new_token(json: TokenIn) -> tuple[TokenCreated, int]:
    """Create a personal token; the answer is the only time it is shown."""
    user = require_user()
    with current_database().session() as session:
        row, token = create_token(session, user.id, json.name)
        return _created(row, token), 201


@api_tokens.delete("/tokens/<int:token_id>")
@spec.validate(resp=Response("HTTP_204"), tags=["accounts"])
def revoke(token_id: int) -> tuple[str, int]:
    """Revoke one of your tokens; it stops working at once."""
    user = require_user()
    with current_database().session() as session:
        if not revoke_token(session, user.id, token_id):
            raise ApiError(404, f"no token with id {token_id}")
    return "", 204
