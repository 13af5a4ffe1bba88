"""Mask secrets in data that is about to be stored or logged (job arguments, payloads)."""

from __future__ import annotations

import itertools
import re
from typing import Any

FILTERED = "[Filtered]"

# Whole words of a key (``db_password``, ``apiKey``, ``X-Auth-Token``): ``author`` or
# ``tokens_used`` stay visible.
_SECRET_WORDS = frozenset(
    {
        "pass",
        "passwd",
        "password",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "auth",
        "authorization",
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
        "csrf",
    }
)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def is_secret_key(key: str) -> bool:
    words = [word.lower() for word in _WORD.findall(key)]
    pairs = (a + b for a, b in itertools.pairwise(words))
    return any(word in _SECRET_WORDS for word in (*words, *pairs))


def scrub(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking key's value replaced by ``[Filtered]``."""
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and is_secret_key(key) else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value
