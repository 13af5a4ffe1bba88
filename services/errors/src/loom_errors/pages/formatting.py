"""How the operator pages show times and statuses (Jinja filters; autoescaping still applies)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

STATUS_LABELS = {
    "unresolved": "unresolved",
    "resolved": "resolved",
    "resolved_in_next_release": "resolved in next release",
    "ignored": "ignored",
}


def shown_time(moment: datetime | None) -> str:
    """UTC to the second, the way operators compare times across services."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def init_app(app: Flask) -> None:
    app.add_template_filter(shown_time)
    app.add_template_filter(status_label)
