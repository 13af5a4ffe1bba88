"""Signed-in browsers: Flask-Login on top of a ``login_sessions`` table.

Why a table and not only Flask's signed cookie: a cookie cannot be revoked. Here the cookie
carries a random session token (and the CSRF token); the row it points at says whose session
it is and until when. Ending it (:func:`end_session`, :func:`end_sessions`) deletes the row
and signs that browser out at its next request, so a person can list and end their sessions,
a password reset ends them all, and the worker's scheduled cleanup drops expired ones.

The row is looked up once and then remembered (:mod:`loom_web.accounts.credential_cache`, which
says how soon an ended session is refused), so a page view costs no query for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, request
from flask_login import UserMixin, login_user
from sqlalchemy import Delete, delete, select
from sqlalchemy.orm import Session

from loom_common.db import utcnow
from loom_common.flask_app import current_database
from loom_web.accounts.credential_cache import remembered, revoke_after_commit
from loom_web.accounts.secret_tokens import new_token, token_hash
from loom_web.extensions import login_manager
from loom_web.metrics import REFUSED
from loom_web.models import LoginSession, User

SESSION_LIFETIME = timedelta(days=14)
SESSION_CREDENTIAL = "login_session"


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


@dataclass(frozen=True)
class SessionHolder:
    """What the cache keeps for a session: whose it is (not its token)."""

    user_id: int
    email: str
    name: str
    session_id: int


def _find(hashed: str) -> tuple[SessionHolder, datetime] | None:
    with current_database().session() as session:
        row = session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_hash == hashed)
        ).first()
    if row is None:
        return None
    login_session, user = row
    holder = SessionHolder(user.id, user.email, user.name, login_session.id)
    return holder, login_session.expires_at


def _load(session_token: str) -> SignedIn | None:
    hashed = token_hash(session_token)
    holder = remembered(SESSION_CREDENTIAL, hashed, lambda: _find(hashed))
    if holder is None:
        REFUSED.labels("session_ended").inc()  # logged out elsewhere, revoked or expired
        return None
    return SignedIn(holder.user_id, holder.email, holder.name, holder.session_id, session_token)


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


def end_session(session: Session, session_id: int) -> None:
    """Log out one session (refused everywhere once ``session`` commits)."""
    _end(session, delete(LoginSession).where(LoginSession.id == session_id))


def end_sessions(session: Session, user_id: int, *, except_id: int | None = None) -> int:
    """Log out every session of ``user_id`` but ``except_id``; how many there were."""
    statement = delete(LoginSession).where(LoginSession.user_id == user_id)
    if except_id is not None:
        statement = statement.where(LoginSession.id != except_id)
    return _end(session, statement)


def _end(session: Session, statement: Delete) -> int:
    ended = session.scalars(statement.returning(LoginSession.token_hash)).all()
    revoke_after_commit(session, SESSION_CREDENTIAL, ended)
    return len(ended)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load)
    login_manager.login_view = "account_pages.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.session_protection = "basic"
