"""The account forms (Flask-WTF): register, log in, password reset, tokens."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length

PASSWORD_RULES = [InputRequired(), Length(min=8, max=1000)]


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
