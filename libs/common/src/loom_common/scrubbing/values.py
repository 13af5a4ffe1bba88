"""Secrets in JSON-like values: an error event, a job's arguments or result, a log record's fields.

Values under secret names are replaced at any depth, ``[name, value]`` pairs under a secret
name (Sentry's headers and cookies) lose their value, and every other string is scrubbed as
free text (text.py).
"""

from __future__ import annotations

from typing import Any

from loom_common.scrubbing.secret_keys import FILTERED, is_secret_key
from loom_common.scrubbing.text import scrub_text


def _is_secret_pair(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and is_secret_key(value[0])
    )


def _scrub_item(item: Any) -> Any:
    """An item of a list: a ``[name, value]`` pair under a secret name loses its value."""
    if type(item) is str:  # most items (source lines): skip the pair test
        return scrub_text(item)
    return [item[0], FILTERED] if _is_secret_pair(item) else scrub_event(item)


def scrub_event(value: Any) -> Any:
    """A copy of ``value`` (an event or any part of it) with its secrets replaced."""
    # Exact types first (what JSON decoding makes, and called per value of every event);
    # the isinstance tests after them keep subclasses scrubbed the same way.
    kind = type(value)
    if kind is str:
        return scrub_text(value)
    if kind is dict or isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and is_secret_key(key) else scrub_event(item)
            for key, item in value.items()
        }
    if kind is list or isinstance(value, list | tuple):
        return [_scrub_item(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def scrub_fields(fields: dict[Any, Any]) -> dict[Any, Any]:
    """A copy of a dict of named values (log fields, job arguments) with its secrets replaced."""
    scrubbed: dict[Any, Any] = scrub_event(fields)
    return scrubbed
