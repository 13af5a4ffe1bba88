"""Header values for email built from data (issue titles, user input): one line, bounded.

``email.message.EmailMessage`` raises on a header value holding a newline (header
injection), so a multi-line title - a pydantic ValidationError's message, say - used to make
building the message fail and the mail never leave.
"""

from __future__ import annotations

# RFC 5322 wants lines under 78 characters; a header is folded past that, so this only
# bounds how long a subject made from data can grow.
HEADER_LENGTH = 200


def one_line(value: str, limit: int = HEADER_LENGTH) -> str:
    """``value`` on one line (every run of whitespace, newlines included, is one space),
    cut to ``limit`` characters ending in an ellipsis when cut."""
    text = " ".join(value.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
