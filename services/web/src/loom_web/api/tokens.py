"""Personal API tokens: created (shown once), listed, revoked, and checked on /api/ requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loom_common.db import utcnow
from loom_common.flask_app import current_database
from loom_web.accounts.credential_cache import remembered, revoke_after_commit
from loom_web.accounts.secret_tokens import new_token, token_hash
from loom_web.models import ApiToken, User

TOKEN_PREFIX = "loom_"
TOKEN_CREDENTIAL = "api_token"
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenUser:
    """``g.caller`` of an API request made with a personal token."""

    id: int
    email: str
    name: str


def create_token(session: Session, user_id: int, name: str) -> tuple[ApiToken, str]:
    """The new row and the token itself, which is never stored and cannot be shown again."""
    token = new_token(TOKEN_PREFIX)
    row = ApiToken(
        user_id=user_id,
        name=name.strip(),
        token_hash=token_hash(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
    )
    session.add(row)
    session.flush()
    return row, token


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )


def revoke_token(session: Session, user_id: int, token_id: int) -> bool:
    """Revoke one of ``user_id``'s tokens (refused everywhere once ``session`` commits)."""
    revoked = session.scalars(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(ApiToken.token_hash)
    ).all()
    revoke_after_commit(session, TOKEN_CREDENTIAL, revoked)
    return bool(revoked)


def _find(hashed: str) -> tuple[TokenUser, None] | None:
    with current_database().session() as session:
        row = session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == hashed, ApiToken.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        api_token, user = row
        now = utcnow()
        # Written when the token is looked up, not on every request it serves (it is then
        # remembered for credential_cache.ENTRY_SECONDS): a minute or two of precision.
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_PRECISION:
            api_token.last_used_at = now
        return TokenUser(user.id, user.email, user.name), None


def verify_token(token: str) -> TokenUser | None:
    """The token verifier given to loom_common.auth."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    hashed = token_hash(token)
    return remembered(TOKEN_CREDENTIAL, hashed, lambda: _find(hashed))
