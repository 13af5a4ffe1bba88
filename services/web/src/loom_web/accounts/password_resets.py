"""Password reset by an emailed, single-use, expiring token.

The emailed token works once: opening the link (:func:`open_reset`) spends it and gives the
browser a new one of its own (kept in its session cookie, never in an address), with which
it sets the password (:func:`reset_password`). So the emailed token, if it leaked anywhere
on its way (a log line, a proxy, a Referer), is dead as soon as the link has been opened,
and the form the person fills in has no token in its address.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from loom_common.broker import send_after_commit
from loom_common.contracts import JOB_PASSWORD_RESET_EMAIL, JOBS_QUEUE
from loom_common.db import utcnow
from loom_web.accounts.login_sessions import end_sessions
from loom_web.accounts.secret_tokens import new_token, token_hash
from loom_web.accounts.users import find_user, set_password
from loom_web.models import PasswordResetToken, User

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


def _claim(session: Session, row: PasswordResetToken) -> bool:
    # Conditional on still being unused, so two requests racing with one token cannot both win.
    claimed = session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def open_reset(session: Session, emailed_token: str) -> str | None:
    """Spend the emailed token; a new token for the same account and expiry, for the
    browser that opened the link (``None`` if the emailed one is invalid, used or expired)."""
    row = usable_reset(session, emailed_token)
    if row is None or not _claim(session, row):
        return None
    browser_token = new_token()
    session.add(
        PasswordResetToken(
            user_id=row.user_id, token_hash=token_hash(browser_token), expires_at=row.expires_at
        )
    )
    session.flush()
    return browser_token


def reset_password(session: Session, token: str, password: str) -> bool:
    """Use the token once: set the password and end every login session of the account."""
    row = usable_reset(session, token)
    if row is None:
        return False
    user = session.get(User, row.user_id)
    if user is None:
        return False
    if not _claim(session, row):
        return False
    set_password(user, password)
    end_sessions(session, user.id)
    # Every other link asked for is spent too: the password they were for is gone.
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return True


def drop_spent_resets(session: Session) -> int:
    result = session.execute(
        delete(PasswordResetToken).where(
            or_(PasswordResetToken.used_at.is_not(None), PasswordResetToken.expires_at <= utcnow())
        )
    )
    return result.rowcount  # type: ignore[attr-defined]
