"""Secrets inside free text: log messages, exception text, URLs, query strings, reprs.

What is found, and what is left of it:

- URL credentials: ``postgresql://user:[Filtered]@host`` (``amqp://guest:guest@`` alike).
- Header lines: ``Authorization: Bearer [Filtered]``, ``Cookie: [Filtered]``.
- Credentials after an HTTP auth scheme: ``Bearer [Filtered]`` (capitalised, as HTTP writes it); ``Basic [Filtered]`` when what
  follows ``Basic`` decodes to ``user:password`` (so "basic settings" stays).
- Quoted pairs under a secret name, as JSON and Python reprs write them:
  ``"password": "[Filtered]"``, ``'reset_token_url': '[Filtered]'``.
- ``name=value`` under a secret name (query strings, form bodies, keyword reprs):
  ``token=[Filtered]``, ``sentry_key=[Filtered]``, ``password='[Filtered]'``.
- Token-like URL path segments (20+ URL-safe characters mixing upper and lower case, as
  ``secrets.token_urlsafe`` makes): ``/password/reset/[Filtered]``. Hex digests and UUIDs
  have one case only and stay, so ids in paths remain searchable.
- Card numbers (cards.py).

Each pattern runs only when a literal it needs is in the text (``in`` is a fast C scan), and
short strings seen clean are remembered: most strings of events and logs are met again.
"""

from __future__ import annotations

import base64
import binascii
import re

from loom_common.scrubbing.cards import mask_cards
from loom_common.scrubbing.secret_keys import FILTERED, is_secret_key

_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s/:@]*):[^\s/]*@")
_SECRET_HEADER = re.compile(
    r"\b((?:proxy-)?authorization|(?:set-)?cookie|x-api-key)(\s*:[ \t]*)"
    r"(?:(bearer|basic|digest|token|negotiate)[ \t]+)?[^\r\n\"']+",
    re.IGNORECASE,
)
# The scheme as HTTP writes it, capitalised: "the bearer of bad news" stays.
_BEARER = re.compile(r"\b(Bearer|BEARER)[ \t]+[A-Za-z0-9._~+/=-]+")
_BASIC = re.compile(r"\b([Bb]asic|BASIC)[ \t]+([A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])")
_QUOTED_PAIR = re.compile(
    r"""(["'])([A-Za-z_][\w.-]{0,63})\1(\s*:\s*)"""
    r"""(?:"(?:[^"\\]|\\.)*+"|'(?:[^'\\]|\\.)*+'|[\w.+/=-]++)"""
)
# ``name=value`` in query strings, URLs and form bodies; the name is judged by is_secret_key.
_ASSIGNMENT = re.compile(
    r"""(?<![\w.-])([A-Za-z_][\w.-]{0,63})=("(?:[^"\\]|\\.)*+"|'(?:[^'\\]|\\.)*+'|[^&\s;,]+)"""
)
_PATH_SEGMENT = re.compile(r"/([A-Za-z0-9_-]{20,}+)(?=[/?#&\s\"'),;]|$)")


def _mask_url_credentials(match: re.Match[str]) -> str:
    return f"{match.group(1)}:{FILTERED}@"


def _mask_header(match: re.Match[str]) -> str:
    scheme = f"{match.group(3)} " if match.group(3) else ""
    return f"{match.group(1)}{match.group(2)}{scheme}{FILTERED}"


def _mask_bearer(match: re.Match[str]) -> str:
    return f"{match.group(1)} {FILTERED}"


def _mask_basic(match: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return f"{match.group(1)} {FILTERED}" if b":" in decoded else match.group(0)


def _mask_quoted_pair(match: re.Match[str]) -> str:
    quote, name, separator = match.group(1), match.group(2), match.group(3)
    if not is_secret_key(name):
        return match.group(0)
    value_quote = match.group(0)[-1] if match.group(0)[-1] in "\"'" else ""
    return f"{quote}{name}{quote}{separator}{value_quote}{FILTERED}{value_quote}"


def _mask_assignment(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if not is_secret_key(name):
        return match.group(0)
    quote = value[0] if value[0] in "\"'" else ""
    return f"{name}={quote}{FILTERED}{quote}"


def _mask_path_segment(match: re.Match[str]) -> str:
    segment = match.group(1)
    if segment.lower() == segment or segment.upper() == segment:
        return match.group(0)  # one case only: a digest, a uuid, a word
    return f"/{FILTERED}"


def _has_any(text: str, literals: tuple[str, ...]) -> bool:
    return any(literal in text for literal in literals)


# Hints a pattern needs. A one-character ``in`` is a memchr (under 1 us per 50 KB); a longer
# literal costs about 45 us per 50 KB of hex, so the one-character tests go first.
_HEADER_HINTS = ("uthorization", "UTHORIZATION", "ookie", "OOKIE", "pi-", "PI-")
_BEARER_HINTS = ("Bearer", "BEARER")
_BASIC_HINTS = ("asic", "ASIC")


def _scrub_patterns(text: str) -> str:
    if "@" in text and "://" in text:
        text = _URL_CREDENTIALS.sub(_mask_url_credentials, text)
    if ":" in text and _has_any(text, _HEADER_HINTS):
        text = _SECRET_HEADER.sub(_mask_header, text)
    if " " in text or "\t" in text:
        if _has_any(text, _BEARER_HINTS):
            text = _BEARER.sub(_mask_bearer, text)
        if _has_any(text, _BASIC_HINTS):
            text = _BASIC.sub(_mask_basic, text)
    if ":" in text and ('"' in text or "'" in text):
        text = _QUOTED_PAIR.sub(_mask_quoted_pair, text)
    if "=" in text:
        text = _ASSIGNMENT.sub(_mask_assignment, text)
    if "/" in text:
        text = _PATH_SEGMENT.sub(_mask_path_segment, text)
    if len(text) >= 13:
        text = mask_cards(text)
    return text


# Short strings seen to scrub to themselves: the events of one application repeat the same
# paths, function names and source lines in every stack trace, and log lines their messages,
# so most strings are met again. Only unchanged strings are kept (never a secret), and the
# set is emptied when full.
_CLEAN: set[str] = set()
_CLEAN_MAX_LENGTH = 512
_CLEAN_MAX_SIZE = 20_000


def scrub_text(text: str) -> str:
    """``text`` with every secret found in it replaced by ``[Filtered]``."""
    if text in _CLEAN:
        return text
    scrubbed = _scrub_patterns(text)
    if scrubbed == text and len(text) <= _CLEAN_MAX_LENGTH:
        if len(_CLEAN) >= _CLEAN_MAX_SIZE:
            _CLEAN.clear()
        _CLEAN.add(text)
    return scrubbed
