"""Public pages: the home page."""

from __future__ import annotations

from flask import Blueprint, render_template

from loom_common.request_context import current_request_id

pages = Blueprint("pages", __name__)


@pages.get("/")
def home() -> str:
    return render_template("home.html", request_id=current_request_id())
