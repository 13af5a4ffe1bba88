"""Password reset by an emailed, single-use, expiring token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from loom_common.broker import send_after_commit
from loom_common.contracts import JOB_PASSWORD_RESET_EMAIL, JOBS_QUEUE
from loom_common.db import utcnow
from loom_web.accounts import find_user, set_password
from loom_web.login_sessions import end_sessions
from loom_web.models import PasswordResetToken, User
from loom_web.secret_tokens import new_token, token_hash

RESET_LIFETIME = timedelta(minutes=30)


def request_reset(session: Session, email: str, reset_url_for: Callable[[str], str]) -> None:
    """Email a reset link if the account exists; say nothing either way (no account probing)."""
    user = find_user(session, email)
    if user is None:
        return
    token = new_token()
    session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=token_hash(token), expires_at=utcnow() + RESET_LIFETIME
        )
    )
    session.flush()
    send_after_commit(
        session,
        JOBS_QUEUE,
        JOB_PASSWORD_RESET_EMAIL,
        to=user.email,
        name=user.name,
        reset_token_url=reset_url_for(token),
        expires_minutes=int(RESET_LIFETIME.total_seconds() // 60),
    )


def usable_reset(session: Session, token: str) -> PasswordResetToken | None:
    row = session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def reset_password(session: Session, token: str, password: str) -> bool:
    """Use the token once: set the password and end every login session of the account."""
    row = usable_reset(session, token)
    if row is None:
        return False
    user = session.get(User, row.user_id)
    if user is None:
        return False
    # Conditional on still being unused, so two requests racing with one token cannot both win.
    claimed = session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_password(user, password)
    end_sessions(session, user.id)
    return True


def drop_spent_resets(session: Session) -> int:
    result = session.execute(
        delete(PasswordResetToken).where(
            or_(PasswordResetToken.used_at.is_not(None), PasswordResetToken.expires_at <= utcnow())
        )
    )
    return result.rowcount  # type: ignore[attr-defined]
