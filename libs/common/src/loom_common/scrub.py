"""Mask secrets in data that is about to be stored or logged (job arguments, payloads)."""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|pwd|secret|token|api[_-]?key|auth|cookie|session|credential|private[_-]?key|dsn",
    re.IGNORECASE,
)


def scrub(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking key's value replaced by ``[Filtered]``."""
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and _SECRET_KEY.search(key) else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value
