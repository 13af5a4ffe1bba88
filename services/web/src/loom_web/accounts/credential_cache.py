"""Who a login session or a personal API token belongs to, remembered in the shared cache.

Checking a credential in the database on every request costs more than the rest of a cached
page. The answer is kept in the web app's cache (Redis, the files under ``var/`` or the one
process's memory: see :func:`loom_web.projects.cache.init_app`) for at most ``ENTRY_SECONDS``,
under the sha256 of the credential (never the credential itself).

Ending a credential (log out, signing out other sessions, a password reset, revoking a
token) goes through :func:`revoke_after_commit`: once the transaction commits, a "revoked"
marker replaces the entry, so every process sharing the cache refuses the credential at its
next request. Lookups store with ``add``, never over an existing entry, so a lookup that read
the row just before it was ended cannot put it back over the marker.

The bound, where "at once" does not hold: a row removed some other way (by hand in the
database) is honoured for up to ``ENTRY_SECONDS``; so is an ended credential in processes
that do not share a cache (``LOOM_ENV=test`` with several gunicorn workers). Expiry is
checked on every request from the remembered expiry time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from loom_common.after_commit import after_commit
from loom_common.db import utcnow
from loom_web.extensions import cache

T = TypeVar("T")
ENTRY_SECONDS = 60
REVOKED = "revoked"


def _key(kind: str, secret_hash: str) -> str:
    return f"credential:{kind}:{secret_hash}"


def remembered(
    kind: str, secret_hash: str, load: Callable[[], tuple[T, datetime | None] | None]
) -> T | None:
    """The holder of a credential, from the cache or else ``load()`` (``(holder, expires_at)``
    or ``None`` when there is no such credential; only found ones are remembered)."""
    key = _key(kind, secret_hash)
    cached: Any = cache.get(key)
    if cached == REVOKED:
        return None
    now = utcnow()
    if cached is None:
        found = load()
        if found is None:
            return None
        timeout = ENTRY_SECONDS
        if found[1] is not None:
            timeout = min(timeout, int((found[1] - now).total_seconds()) + 1)
        if timeout > 0:
            cache.add(key, found, timeout=timeout)
        cached = found
    holder, expires_at = cached
    if expires_at is not None and expires_at <= now:
        return None
    return holder


def revoke_after_commit(session: Session, kind: str, secret_hashes: Iterable[str]) -> None:
    """Refuse these credentials everywhere once ``session`` has committed their end."""
    after_commit(session, partial(_mark_revoked, kind, list(secret_hashes)))


def _mark_revoked(kind: str, secret_hashes: list[str]) -> None:
    for secret_hash in secret_hashes:
        cache.set(_key(kind, secret_hash), REVOKED, timeout=ENTRY_SECONDS)
