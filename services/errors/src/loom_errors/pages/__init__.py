"""The operator pages (issues, one issue, projects) behind the shared sign-in, and what they
have in common: CSRF refusals counted and the link to the logs service."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFError

from loom_common.operator_ui import init_operator_ui
from loom_common.settings import Settings
from loom_errors.pages import formatting
from loom_errors.pages.refusals import refuse


def init_app(app: Flask, settings: Settings) -> None:
    """The pages' sign-in, formatting and CSRF refusal (``init_app(..., sessions=True)`` must
    come first); ``create_app`` registers the page blueprints itself."""
    app.config["LOOM_ERRORS_LOGS_URL"] = settings.service_url("logs")
    init_operator_ui(app, settings, title="Errors", home_endpoint="issue_pages.issue_list")
    formatting.init_app(app)
    app.register_error_handler(CSRFError, _csrf_refused)


def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    return refuse("csrf", 400, f"{error.description} Reload the page and try again.")
