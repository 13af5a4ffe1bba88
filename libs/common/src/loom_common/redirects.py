"""Where a sign-in may send the browser next: a path on this site, or the fallback.

``?next=`` comes from a link anyone can craft, so it is checked before it reaches a
``Location`` header. Browsers are lenient where Python's ``urlsplit`` is strict: they drop
tabs and newlines inside URLs, read ``\\`` as ``/`` and follow ``//host`` to another site,
so ``/\\t/evil.example`` and ``/\\evil.example`` leave the site although they look like
paths. Only plain, printable, single-slash paths pass; anything odd falls back.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

# Unicode categories refused anywhere in the target: control and format characters
# (browsers strip some, a newline would break the header) and every kind of space.
_REFUSED_CATEGORIES = ("C", "Z")


def _is_odd(char: str) -> bool:
    return unicodedata.category(char)[0] in _REFUSED_CATEGORIES


def _is_same_site_path(target: str) -> bool:
    if not target.startswith("/") or target[1:2] in ("/", "\\"):
        return False  # relative, or "//host" and "/\\host": another site to a browser
    parts = urlsplit(target)
    return "\\" not in target and not parts.scheme and not parts.netloc


def safe_redirect_target(target: str | None, fallback: str) -> str:
    """``target`` if it is a plain path on this site, else ``fallback``.

    Its decoded forms are checked too, as a browser would read them (odd characters
    dropped): the target's own encoding could hide ``//`` or a backslash from the check,
    and a proxy or browser might decode it later.
    """
    if not target or any(_is_odd(char) for char in target):
        return fallback
    once = unquote(target)
    for form in (target, once, unquote(once)):
        if not _is_same_site_path("".join(c for c in form if not _is_odd(c))):
            return fallback
    return target
