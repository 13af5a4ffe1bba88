"""Which names hold secrets: a key of a dict, a header, a form field, a ``name=value`` name.

A name is secret when one of its words (or two adjacent words run together) is a secret word
(``db_password``, ``apiKey``, ``X-Auth-Token``, ``password_confirm``), or when it is one of
sentry-python's ``DEFAULT_DENYLIST`` names (``PHPSESSID``, ``connect.sid``, ``symfony``).
Whole words only, so ``author`` or ``tokens_used`` stay visible.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from sentry_sdk.scrubber import DEFAULT_DENYLIST

FILTERED = "[Filtered]"

_SECRET_WORDS = frozenset(
    {
        "pass",
        "passwd",
        "password",
        "pwd",
        "passphrase",
        # The second password field of register and reset forms (``confirm``, ``password_confirm``).
        "confirm",
        "secret",
        "token",
        "auth",
        "authorization",
        "bearer",
        "jwt",
        "cookie",
        "cookies",
        "session",
        "sessionid",
        "credential",
        "credentials",
        "dsn",
        "signature",
        "apikey",
        "privatekey",
        "accesskey",
        "sentrykey",  # the DSN key that sentry SDKs put in query strings
        "csrf",
        "xsrf",
    }
)


def _normal(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


_DENYLIST = frozenset(_normal(name) for name in DEFAULT_DENYLIST)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True when values under ``key`` must be hidden. Cached: the same few hundred names recur."""
    if _normal(key) in _DENYLIST:
        return True
    words = [word.lower() for word in _WORD.findall(key)]
    pairs = (a + b for a, b in itertools.pairwise(words))
    return any(word in _SECRET_WORDS for word in (*words, *pairs))
