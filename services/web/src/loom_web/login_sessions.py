"""Signed-in browsers: Flask-Login on top of a ``login_sessions`` table.

Why a table and not only Flask's signed cookie: a cookie cannot be revoked. Here the cookie
carries a random session token (and the CSRF token); the row it points at says whose session
it is and until when. Deleting the row signs that browser out at its next request, so a
person can list and end their sessions, a password reset ends them all, and the worker's
scheduled cleanup drops expired ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, request
from flask_login import UserMixin, login_user
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loom_common.db import utcnow
from loom_common.flask_app import current_database
from loom_web.extensions import login_manager
from loom_web.models import LoginSession, User
from loom_web.secret_tokens import new_token, token_hash

SESSION_LIFETIME = timedelta(days=14)


@dataclass(frozen=True)
class SignedIn(UserMixin):
    """``current_user`` on pages: the account and the session it signed in with."""

    id: int
    email: str
    name: str
    session_id: int
    session_token: str

    def get_id(self) -> str:
        return self.session_token


def _load(session_token: str) -> SignedIn | None:
    with current_database().session() as session:
        row = session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_hash == token_hash(session_token))
        ).first()
    if row is None:
        return None
    login_session, user = row
    if login_session.expires_at <= utcnow():
        return None
    return SignedIn(user.id, user.email, user.name, login_session.id, session_token)


def start_session(session: Session, user: User) -> None:
    """Record a new login session for ``user`` and put its token in the cookie."""
    token = new_token()
    row = LoginSession(
        user_id=user.id,
        token_hash=token_hash(token),
        user_agent=(request.user_agent.string or "")[:300],
        address=(request.remote_addr or "")[:64],
        expires_at=utcnow() + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    login_user(SignedIn(user.id, user.email, user.name, row.id, token))


def end_sessions(session: Session, user_id: int, *, except_id: int | None = None) -> int:
    statement = delete(LoginSession).where(LoginSession.user_id == user_id)
    if except_id is not None:
        statement = statement.where(LoginSession.id != except_id)
    return session.execute(statement).rowcount  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load)
    login_manager.login_view = "account_pages.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.session_protection = "basic"
