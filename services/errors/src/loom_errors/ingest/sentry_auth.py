"""Which DSN key a Sentry request carries: ``?sentry_key=`` or the ``X-Sentry-Auth`` header."""

from __future__ import annotations

from flask import Request


def sentry_key(request: Request) -> str | None:
    """The public key, or None when the request names none."""
    from_query = request.args.get("sentry_key")
    if from_query:
        return from_query.strip()
    header = request.headers.get("X-Sentry-Auth") or ""
    if header.lower().startswith("sentry "):
        header = header[len("sentry ") :]
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip() == "sentry_key" and value.strip():
            return value.strip()
    return None
