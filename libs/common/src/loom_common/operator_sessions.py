"""Operator sessions that end: at sign-out, when ``LOOM_API_TOKEN`` changes, and after a
fixed lifetime, although Flask keeps them in a signed cookie on the client.

The cookie carries a random session id, the moment the session expires (absolute, counted
from sign-in, never extended) and an HMAC of the operator token keyed by the secret key
(the cookie is signed, not encrypted: it must not carry the token nor an unkeyed hash of it).
A session whose digest does not match the token the process has now belongs to a token
that was rotated away.

Signing out records the session id as revoked until its expiry, in a store every process
of the service sees, so a copy of the cookie replayed later is refused:

- ``LOOM_CACHE_URL`` set (staging, production): Redis, shared by every host, entries expire
  with the session;
- otherwise (dev, one host): files under ``var/operator-sessions/<service>/``, shared by
  the gunicorn workers of the host (one small file a sign-out).

A table in each service's database was the other option; it would need the same migration
in errors and logs for a handful of rows that matter for twelve hours, and a query on every
page view. Both stores are cachelib's, which Flask-Caching uses too. If the store cannot
be read the session is refused (and logged): a page that asks to sign in again is better
than one that lets a signed-out cookie through.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from cachelib import BaseCache, FileSystemCache, RedisCache
from flask import session
from loguru import logger
from prometheus_client import Counter

from loom_common.settings import Settings

SESSION_KEY = "loom_operator"

OPERATOR_SESSIONS_REFUSED = Counter(
    "loom_operator_sessions_refused_total",
    "Operator session cookies refused, by reason.",
    ["reason"],
)


def token_digest(secret_key: str, token: str) -> str:
    """What the cookie holds to tie a session to the token it was opened with."""
    return hmac.new(
        secret_key.encode(), b"loom-operator-session\0" + token.encode(), hashlib.sha256
    ).hexdigest()


def revocation_store(settings: Settings) -> BaseCache:
    """Where signed-out session ids are kept; see the module docstring."""
    service = settings.service or "operator"
    if settings.cache_url:
        client = redis.Redis.from_url(
            settings.cache_url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        return RedisCache(host=client, key_prefix=f"loom:{service}:operator-revoked:")
    folder = settings.var_dir / "operator-sessions" / service
    # threshold 0: never evict; evicting would bring a signed-out session back to life.
    return FileSystemCache(str(folder), threshold=0, mode=0o600)


@dataclass
class OperatorSessions:
    """Start, check and end the operator session held in ``flask.session``."""

    revoked: BaseCache
    secret_key: str
    token: str
    lifetime_seconds: float
    clock: Callable[[], float] = field(default=time.time)  # tests move it forward

    def start(self) -> str:
        """A new session in the cookie; its id (for Flask-Login)."""
        session_id = secrets.token_urlsafe(24)
        session[SESSION_KEY] = {
            "id": session_id,
            "expires": self.clock() + self.lifetime_seconds,
            "token": token_digest(self.secret_key, self.token),
        }
        return session_id

    def current(self) -> str | None:
        """The id of the cookie's session if it is still good, else None (counted)."""
        held = session.get(SESSION_KEY)
        if not isinstance(held, dict) or not isinstance(held.get("id"), str):
            return None
        reason = self._refusal(held)
        if reason is not None:
            OPERATOR_SESSIONS_REFUSED.labels(reason).inc()
            return None
        return str(held["id"])

    def _refusal(self, held: dict[str, object]) -> str | None:
        expires = held.get("expires")
        if not isinstance(expires, int | float) or expires <= self.clock():
            return "expired"
        expected = token_digest(self.secret_key, self.token)
        if not hmac.compare_digest(str(held.get("token", "")), expected):
            return "token_changed"
        try:
            if self.revoked.has(str(held["id"])):
                return "signed_out"
        except Exception as error:
            logger.warning("operator session refused, its revocation is unknown: {}", error)
            return "store_unavailable"
        return None

    def end(self) -> None:
        """Revoke the cookie's session everywhere, until it would have expired anyway."""
        held = session.pop(SESSION_KEY, None)
        if not isinstance(held, dict) or not isinstance(held.get("id"), str):
            return
        expires = held.get("expires")
        left = (expires if isinstance(expires, int | float) else 0) - self.clock()
        if left > 0:
            try:
                # cachelib timeouts are whole seconds; round up so the entry outlives the session.
                self.revoked.set(held["id"], True, timeout=int(left) + 1)
            except Exception as error:
                logger.error("operator session not revoked, its store failed: {}", error)
