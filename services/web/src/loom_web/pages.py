"""Server-rendered HTML pages."""

from __future__ import annotations

from flask import Blueprint, render_template

pages = Blueprint("pages", __name__)


@pages.get("/")
def home() -> str:
    return render_template("home.html")
