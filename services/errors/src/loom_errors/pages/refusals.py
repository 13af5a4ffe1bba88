"""Requests the operator pages refuse: counted by reason and answered with a page that says
what was wrong (the status code says it to scripts)."""

from __future__ import annotations

from flask import render_template

from loom_common.api_errors import note_refusal
from loom_errors.metrics import PAGE_REQUESTS_REFUSED


def count_refusal(reason: str) -> None:
    PAGE_REQUESTS_REFUSED.labels(reason=reason).inc()
    note_refusal(reason)


def refuse(reason: str, status: int, message: str) -> tuple[str, int]:
    """A page naming the problem, with ``status``; counted under ``reason``."""
    count_refusal(reason)
    return render_template("errors/refused.html", status=status, message=message), status
