"""Forms every concern uses (Flask-WTF validates the CSRF token of every form)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A button that changes something (log out, delete, revoke): only the CSRF token."""
