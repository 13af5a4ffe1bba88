"""The HTML forms (Flask-WTF): field validation and the CSRF token of every form."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

PASSWORD_RULES = [InputRequired(), Length(min=8, max=1000)]


class ActionForm(FlaskForm):
    """A button that changes something (log out, delete, revoke): only the CSRF token."""


class RegisterForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[InputRequired(), Length(min=1, max=100)])
    password = PasswordField("Password (8 characters or more)", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Password again", validators=[EqualTo("password", message="the passwords differ")]
    )


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1000)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired(), Email(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password (8 characters or more)", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "New password again", validators=[EqualTo("password", message="the passwords differ")]
    )


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[InputRequired(), Length(min=1, max=100)])


class ProjectForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(min=1, max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=10_000)])


class InviteForm(FlaskForm):
    email = EmailField("Email of a registered user", validators=[InputRequired(), Email()])
    role = SelectField("Role", choices=[SelectChoice("member"), SelectChoice("owner")])


class TaskForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(min=1, max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=10_000)])
    status = SelectField(
        "Status",
        choices=[
            SelectChoice("open"),
            SelectChoice("in_progress", "in progress"),
            SelectChoice("done"),
        ],
    )
    assignee_id = SelectField("Assignee", coerce=int, default=0)
    due_date = DateTimeLocalField("Due (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])


def task_form(members: list[dict[str, Any]], **kwargs: Any) -> TaskForm:
    """The task form with the project's members as the assignee choices."""
    form = TaskForm(**kwargs)
    form.assignee_id.choices = [SelectChoice(0, "nobody")] + [
        SelectChoice(m["id"], m["name"]) for m in members
    ]
    return form
