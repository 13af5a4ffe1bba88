"""The project forms (Flask-WTF): a project, an invitation, a task."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, EmailField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Email, InputRequired, Length, Optional

from loom_web.projects.snapshots import Member


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


def task_form(members: Iterable[Member], **kwargs: Any) -> TaskForm:
    """The task form with the project's members as the assignee choices."""
    form = TaskForm(**kwargs)
    form.assignee_id.choices = [SelectChoice(0, "nobody")] + [
        SelectChoice(m.id, m.name) for m in members
    ]
    return form
