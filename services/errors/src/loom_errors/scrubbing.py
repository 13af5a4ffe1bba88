"""Scrubbing an event before it is stored: secrets by key, headers, query strings, card numbers.

On top of loom_common.scrub (values under secret-looking keys, at any depth) this handles the
shapes Sentry events use: headers and cookies as ``[name, value]`` pairs, ``key=value``
secrets inside strings (query strings, URLs, form bodies), and card-like numbers (13 to 19
digits passing the Luhn check) in any string.

It runs on every stored event, whose strings can be tens of KB (local variables, extra
data), so it is written for speed: key verdicts are cached, and the card pattern only runs
inside stretches of 13+ digits, spaces and dashes, found in ASCII text by a byte table and a
literal search (a regex stepping through every character costs about 1 ms per 20 KB).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from loom_common.scrub import FILTERED
from loom_common.scrub import is_secret_key as _is_secret_key

_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# A card number lies inside a maximal run of digits, spaces and dashes of 13+ characters; the
# characters around such a run are none of those, so _CARD's look-arounds judge a run alone
# exactly as they would in the whole text.
_CARD_STRETCH = re.compile(r"[\d -]{13,}")
# ASCII text mapped byte for byte: "1" for a digit, space or dash, "0" for anything else.
_STRETCH_FLAGS = bytes(49 if chr(byte) in "0123456789 -" else 48 for byte in range(256))
_STRETCH_START = b"1" * 13
# ``name=value`` in query strings, URLs and form bodies; the name is judged by is_secret_key.
_ASSIGNMENT = re.compile(r"(?<![\w.-])([A-Za-z_][\w.-]{0,63})=([^&\s;,]+)")


# Luhn's value of a digit in a doubled place (doubled, less 9 past 9), by the digit.
_DOUBLED = tuple(digit * 2 - 9 if digit > 4 else digit * 2 for digit in range(10))


def _luhn_valid(digits: str) -> bool:
    # From the right: the last digit as is, the one before it doubled, and so on. int() also
    # reads other scripts' digits, which the card pattern accepts.
    doubled = map(_DOUBLED.__getitem__, map(int, digits[-2::-2]))
    return (sum(map(int, digits[-1::-2])) + sum(doubled)) % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return FILTERED if 13 <= len(digits) <= 19 and _luhn_valid(digits) else match.group(0)


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """loom_common's verdict, cached: events repeat the same few hundred keys."""
    return _is_secret_key(key)


def _mask_cards_in_stretch(match: re.Match[str]) -> str:
    return _CARD.sub(_mask_card, match.group(0))


def _mask_cards(text: str) -> str:
    if not text.isascii():  # other scripts' digits count too: take the general path
        return _CARD_STRETCH.sub(_mask_cards_in_stretch, text)
    flags = text.encode("ascii").translate(_STRETCH_FLAGS)
    pieces: list[str] = []
    done = 0
    # bytes.find, not a regex: about twice as fast where most characters are digits (hex).
    # The first 13 flags found start a maximal run: one sooner would have been found first.
    start = flags.find(_STRETCH_START)
    while start != -1:
        end = flags.find(b"0", start + 13)
        end = len(flags) if end == -1 else end
        pieces += [text[done:start], _CARD.sub(_mask_card, text[start:end])]
        done = end
        start = flags.find(_STRETCH_START, end)
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


# Short strings seen to scrub to themselves: the events of one application repeat the same
# paths, function names and source lines in every stack trace, so most strings are met again.
# Only unchanged strings are kept (never a secret), and the set is emptied when full.
_CLEAN: set[str] = set()
_CLEAN_MAX_LENGTH = 512
_CLEAN_MAX_SIZE = 20_000


def scrub_text(text: str) -> str:
    if text in _CLEAN:
        return text
    scrubbed = text
    if "=" in scrubbed:
        scrubbed = _ASSIGNMENT.sub(_mask_assignment, scrubbed)
    if len(scrubbed) >= 13:
        scrubbed = _mask_cards(scrubbed)
    if scrubbed == text and len(text) <= _CLEAN_MAX_LENGTH:
        if len(_CLEAN) >= _CLEAN_MAX_SIZE:
            _CLEAN.clear()
        _CLEAN.add(text)
    return scrubbed


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
