"""Users: registering and checking a password (shared by the pages and the API)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loom_common.broker import send_after_commit
from loom_common.contracts import JOB_WELCOME_EMAIL, JOBS_QUEUE
from loom_web.accounts.passwords import hash_password, verify_nothing, verify_password
from loom_web.models import User


class EmailTaken(Exception):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def register_user(session: Session, email: str, name: str, password: str) -> User:
    """Create the account and ask the worker for the welcome email (once it is committed)."""
    if find_user(session, email) is not None:
        raise EmailTaken(email)
    user = User(
        email=normalise_email(email), name=name.strip(), password_hash=hash_password(password)
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # registered by a concurrent request since the check above
        raise EmailTaken(email) from None
    send_after_commit(session, JOBS_QUEUE, JOB_WELCOME_EMAIL, to=user.email, name=user.name)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_user(session, email)
    if user is None:
        verify_nothing(password)
        return None
    return user if verify_password(user.password_hash, password) else None


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
