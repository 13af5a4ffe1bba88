"""Scrubbing an event before it is stored: secrets by key, headers, query strings, card numbers.

On top of loom_common.scrub (values under secret-looking keys, at any depth) this handles the
shapes Sentry events use: headers and cookies as ``[name, value]`` pairs, ``key=value``
secrets inside strings (query strings, URLs, form bodies), and card-like numbers (13 to 19
digits passing the Luhn check) in any string.
"""

from __future__ import annotations

import re
from typing import Any

from loom_common.scrub import FILTERED, is_secret_key

_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# ``name=value`` in query strings, URLs and form bodies; the name is judged by is_secret_key.
_ASSIGNMENT = re.compile(r"(?<![\w.-])([A-Za-z_][\w.-]{0,63})=([^&\s;,]+)")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return FILTERED if 13 <= len(digits) <= 19 and _luhn_valid(digits) else match.group(0)


def scrub_text(text: str) -> str:
    if "=" in text:
        text = _ASSIGNMENT.sub(_mask_assignment, text)
    return _CARD.sub(_mask_card, text)


def _mask_assignment(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"{name}={FILTERED}" if is_secret_key(name) else match.group(0)


def _is_secret_pair(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and is_secret_key(value[0])
    )


def scrub_event(value: Any) -> Any:
    """A copy of ``value`` (an event or any part of it) with its secrets replaced."""
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and is_secret_key(key) else scrub_event(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            [item[0], FILTERED] if _is_secret_pair(item) else scrub_event(item) for item in value
        ]
    if isinstance(value, str):
        return scrub_text(value)
    return value
