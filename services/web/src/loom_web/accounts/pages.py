"""Pages for accounts: register, log in and out, password reset, settings (tokens, sessions)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from loom_common.flask_app import current_database
from loom_common.redirects import safe_redirect_target
from loom_common.sensitive_views import sensitive
from loom_web.accounts.forms import (
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    TokenForm,
)
from loom_web.accounts.login_sessions import end_session, end_sessions, start_session
from loom_web.accounts.password_resets import (
    open_reset,
    request_reset,
    reset_password,
    usable_reset,
)
from loom_web.accounts.passwords import hash_password
from loom_web.accounts.rate_limits import email_sending_limited, login_limited
from loom_web.accounts.users import EmailTaken, authenticate, register_user
from loom_web.api.tokens import create_token, list_tokens, revoke_token
from loom_web.forms import ActionForm
from loom_web.metrics import LOGINS
from loom_web.models import LoginSession
from loom_web.projects.links import web_base_url

account_pages = Blueprint("account_pages", __name__)

Page = str | Response | tuple[str, int]
RESET_TOKEN_KEY = "password_reset_token"  # in the session: the browser's reset token


@account_pages.route("/register", methods=["GET", "POST"])
@email_sending_limited
def register() -> Page:
    """The same answer whether the address is new or has an account, so the page cannot be
    used to find out who has one: nobody is logged in straight away, and the owner of an
    existing account is sent nothing (an email there would need a job of the worker's and
    would let anyone mail them; "Forgot your password" is one click away on the log-in page)."""
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            with current_database().session() as session:
                register_user(session, form.email.data, form.name.data, form.password.data)
        except EmailTaken:
            hash_password(form.password.data)  # as long as a registration takes
        flash(
            "Thank you. If this address had no account, yours is ready and a welcome email is "
            "on its way: log in with your password. If it had one, log in or reset its password."
        )
        return redirect(url_for("account_pages.login"))
    status = 422 if form.errors else 200
    return render_template("register.html", form=form), status


@account_pages.route("/login", methods=["GET", "POST"])
@login_limited
def login() -> Page:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        with current_database().session() as session:
            user = authenticate(session, form.email.data, form.password.data)
            if user is not None:
                start_session(session, user)
        if user is not None:
            LOGINS.labels("succeeded").inc()
            home = url_for("project_pages.projects")
            return redirect(safe_redirect_target(request.args.get("next"), home))
        LOGINS.labels("failed").inc()
        error = "Wrong email or password."
    status = 401 if error else 422 if form.errors else 200
    return render_template("login.html", form=form, error=error), status


@account_pages.post("/logout")
@login_required
def logout() -> Response:
    if ActionForm().validate_on_submit():
        with current_database().session() as session:
            end_session(session, current_user.session_id)
        logout_user()
        flash("You are logged out.")
    return redirect(url_for("pages.home"))


@account_pages.route("/password/forgot", methods=["GET", "POST"])
@email_sending_limited
def forgot_password() -> Page:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with current_database().session() as session:
            request_reset(
                session,
                form.email.data,
                lambda token: (
                    f"{web_base_url()}{url_for('account_pages.open_reset_link', token=token)}"
                ),
            )
        flash("If an account exists for that email, a reset link is on its way.")
        return redirect(url_for("account_pages.login"))
    return render_template("forgot_password.html", form=form), 422 if form.errors else 200


def _reset_link_not_valid() -> tuple[str, int]:
    message = "This reset link is invalid, used or expired. Ask for a new one."
    return render_template("message.html", title="Reset link not valid", message=message), 404


@account_pages.route("/password/reset/<token>", methods=["GET", "POST"])
@sensitive
def open_reset_link(token: str) -> Page:
    """The emailed link: its token is swapped for one kept in this browser's session, and
    the browser moves to the form at an address without a token (as Django does), so the
    token is in no later log line or Referer, and is dead once opened."""
    with current_database().session() as session:
        browser_token = open_reset(session, token)
    if browser_token is None:
        return _reset_link_not_valid()
    flask_session[RESET_TOKEN_KEY] = browser_token
    return redirect(url_for("account_pages.reset"))


@account_pages.route("/password/reset", methods=["GET", "POST"])
@sensitive
def reset() -> Page:
    token = flask_session.get(RESET_TOKEN_KEY)
    if not isinstance(token, str):
        return _reset_link_not_valid()
    with current_database().session() as session:
        usable = usable_reset(session, token) is not None
    if not usable:
        return _reset_link_not_valid()
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with current_database().session() as session:
            done = reset_password(session, token, form.password.data)
        if done:
            flask_session.pop(RESET_TOKEN_KEY, None)
            logout_user()
            flash("Your password is changed. Log in with the new one.")
            return redirect(url_for("account_pages.login"))
    return render_template("reset_password.html", form=form), 422 if form.errors else 200


@account_pages.route("/settings", methods=["GET", "POST"])
@sensitive  # shows a new API token once
@login_required
def settings() -> Page:
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        with current_database().session() as session:
            _row, new_token = create_token(session, current_user.id, form.name.data)
        form = TokenForm(formdata=None)
    with current_database().session() as session:
        tokens = list_tokens(session, current_user.id)
        sessions = list(
            session.scalars(
                select(LoginSession)
                .where(LoginSession.user_id == current_user.id)
                .order_by(LoginSession.id.desc())
            )
        )
    return render_template(
        "settings.html",
        form=form,
        tokens=tokens,
        sessions=sessions,
        new_token=new_token,
    )


@account_pages.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Response:
    if ActionForm().validate_on_submit():
        with current_database().session() as session:
            if revoke_token(session, current_user.id, token_id):
                flash("The token is revoked.")
    return redirect(url_for("account_pages.settings"))


@account_pages.post("/settings/sessions/end-others")
@login_required
def end_other_sessions() -> Response:
    if ActionForm().validate_on_submit():
        with current_database().session() as session:
            ended = end_sessions(session, current_user.id, except_id=current_user.session_id)
        flash(f"Signed out {ended} other session(s).")
    return redirect(url_for("account_pages.settings"))
