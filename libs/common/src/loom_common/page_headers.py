"""Security headers of every HTML page a Loom service serves.

- ``Content-Security-Policy``: the pages show data that users, services and clients sent
  (task descriptions, log lines, events), escaped by the templates; the policy stops
  whatever might slip through from running, and ``frame-ancestors 'none'`` stops another
  site from framing a page to trick a click (clickjacking).
- ``X-Frame-Options: DENY``: the same for browsers that predate ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``: no guessing a
  download's type, and no page address (which may hold an id or a token) sent to other sites.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.wrappers import Response


def content_security_policy(*, own_scripts: bool) -> str:
    """Scripts from the service itself only when its pages have some, never inline ones."""
    scripts = "'self'" if own_scripts else "'none'"
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def init_app(app: Flask, *, own_scripts: bool = False) -> None:
    """Add the headers to every HTML response of ``app`` (a view's own values win)."""
    headers = {
        "Content-Security-Policy": content_security_policy(own_scripts=own_scripts),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }

    def add_headers(response: Response) -> Response:
        if response.mimetype == "text/html":
            for name, value in headers.items():
                response.headers.setdefault(name, value)
        return response

    app.after_request(add_headers)
