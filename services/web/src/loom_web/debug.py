"""Routes that exist only in dev and test, to prove the error path end to end."""

from __future__ import annotations

from flask import Blueprint

debug = Blueprint("debug", __name__, url_prefix="/api/debug")


@debug.get("/fail")
def fail() -> str:
    """Raise on purpose: the error must reach the errors service with this route and request id."""
    raise RuntimeError("deliberate failure from /api/debug/fail")
