"""Card-like numbers in text: 13 to 19 digits (spaces and dashes allowed) passing the Luhn check.

Written for speed, since it runs over every string of every stored event (tens of KB of local
variables and extra data): the card pattern only runs inside stretches of 13+ digits, spaces
and dashes, found in ASCII text by a byte table and a literal search (a regex stepping through
every character costs about 1 ms per 20 KB).
"""

from __future__ import annotations

import re

from loom_common.scrubbing.secret_keys import FILTERED

_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# A card number lies inside a maximal run of digits, spaces and dashes of 13+ characters; the
# characters around such a run are none of those, so _CARD's look-arounds judge a run alone
# exactly as they would in the whole text.
_CARD_STRETCH = re.compile(r"[\d -]{13,}")
# ASCII text mapped byte for byte: "1" for a digit, space or dash, "0" for anything else.
_STRETCH_FLAGS = bytes(49 if chr(byte) in "0123456789 -" else 48 for byte in range(256))
_STRETCH_START = b"1" * 13

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


def _mask_cards_in_stretch(match: re.Match[str]) -> str:
    return _CARD.sub(_mask_card, match.group(0))


def mask_cards(text: str) -> str:
    """``text`` with every card number replaced by ``[Filtered]``."""
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
