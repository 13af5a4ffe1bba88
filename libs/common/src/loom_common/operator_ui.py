"""Sign-in for the operator pages of the errors and logs services.

Operators sign in with the operator token (``LOOM_API_TOKEN``) once; a signed session
cookie carries them from page to page until they sign out, the token changes or the
session's lifetime (``LOOM_OPERATOR_SESSION_HOURS``) ends (operator_sessions.py). Wrong
tokens are limited per client address (sign_in_limits.py). Every page form is CSRF-protected (Flask-WTF);
the bearer-token API and the ingest endpoints are not, since no browser session reaches them.

A service wires it with :func:`init_operator_ui` and marks its pages with :func:`page`;
its templates extend ``loom_operator/base.html``. Every HTML response gets a
Content-Security-Policy: the pages show data that services and clients sent (log lines,
events), escaped by the templates; the policy stops whatever might slip through from running.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from prometheus_client import Counter
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField
from wtforms.validators import DataRequired

from loom_common import page_headers
from loom_common.operator_sessions import OperatorSessions, revocation_store
from loom_common.redirects import safe_redirect_target
from loom_common.settings import Settings
from loom_common.sign_in_limits import DEFAULT_LIMIT, SignInLimiter

View = TypeVar("View", bound=Callable[..., Any])

_PAGE_ATTRIBUTE = "_loom_operator_page"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

OPERATOR_SIGN_INS = Counter(
    "loom_operator_sign_ins_total",
    "Operator sign-in attempts on the UI pages, by outcome.",
    ["outcome"],
)

blueprint = Blueprint("operator_ui", __name__, template_folder="templates")
csrf = CSRFProtect()


class Operator(UserMixin):
    """The one kind of user of the operator pages, known by the id of its session."""

    def __init__(self, session_id: str) -> None:
        self.id = session_id


class SignInForm(FlaskForm):
    token = PasswordField("Operator token", validators=[DataRequired()])


def page(view: View) -> View:
    """Mark a view as an operator page: sign-in required, forms CSRF-checked."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("operator_ui.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    setattr(guarded, _PAGE_ATTRIBUTE, True)
    return guarded  # type: ignore[return-value]


def init_operator_ui(
    app: Flask, settings: Settings, *, title: str, home_endpoint: str, own_scripts: bool = False
) -> None:
    """Sessions, sign-in/out pages, CSRF and the Content-Security-Policy of a service's pages.

    The app must have been made with ``init_app(..., sessions=True)``. ``own_scripts``: the
    pages load scripts from the service's static files.
    """
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env in ("staging", "production"),
        SESSION_COOKIE_NAME=f"loom_{settings.service or 'operator'}_session",
        WTF_CSRF_CHECK_DEFAULT=False,  # checked only for pages, in _check_csrf
        LOOM_OPERATOR_TOKEN=settings.api_token.get_secret_value(),
        LOOM_UI_TITLE=title,
        LOOM_UI_HOME=home_endpoint,
    )
    csrf.init_app(app)
    sessions = OperatorSessions(
        revocation_store(settings),
        secret_key=settings.secret_key.get_secret_value(),
        token=settings.api_token.get_secret_value(),
        lifetime_seconds=settings.operator_session_hours * 3600,
    )
    app.extensions["loom_operator_sessions"] = sessions
    app.extensions["loom_operator_sign_in_limiter"] = SignInLimiter(
        f"loom-{settings.service or 'operator'}-operator-sign-in",
        settings.cache_url,
        app.config.get("LOOM_OPERATOR_SIGN_IN_LIMIT", DEFAULT_LIMIT),
    )
    login_manager = LoginManager(app)
    login_manager.user_loader(
        lambda user_id: Operator(user_id) if user_id == sessions.current() else None
    )
    app.register_blueprint(blueprint)
    app.before_request(_check_csrf)
    app.context_processor(lambda: {"ui_title": title, "ui_home": home_endpoint})
    page_headers.init_app(app, own_scripts=own_scripts)


def _check_csrf() -> None:
    if request.method not in _UNSAFE_METHODS or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and getattr(view, _PAGE_ATTRIBUTE, False):
        csrf.protect()


def _operator_sessions() -> OperatorSessions:
    sessions: OperatorSessions = current_app.extensions["loom_operator_sessions"]
    return sessions


def _too_many_attempts(form: SignInForm, retry_after: int) -> BaseResponse:
    OPERATOR_SIGN_INS.labels("rate_limited").inc()
    flash(f"Too many wrong tokens from your address; try again in {retry_after} seconds.", "error")
    page = render_template("loom_operator/login.html", form=form)
    return BaseResponse(
        page, status=429, headers={"Retry-After": str(retry_after)}, mimetype="text/html"
    )


@blueprint.route("/login", methods=["GET", "POST"])
def sign_in() -> str | BaseResponse:
    form = SignInForm()
    limiter: SignInLimiter = current_app.extensions["loom_operator_sign_in_limiter"]
    address = request.remote_addr or ""
    if request.method == "POST":
        csrf.protect()
        retry_after = limiter.retry_after(address)
        if retry_after:
            return _too_many_attempts(form, retry_after)
    if form.validate_on_submit():
        expected: str = current_app.config["LOOM_OPERATOR_TOKEN"]
        if hmac.compare_digest(form.token.data.encode(), expected.encode()):
            OPERATOR_SIGN_INS.labels("success").inc()
            login_user(Operator(_operator_sessions().start()))
            home = url_for(current_app.config["LOOM_UI_HOME"])
            return redirect(safe_redirect_target(request.args.get("next"), home))
        OPERATOR_SIGN_INS.labels("wrong_token").inc()
        limiter.failed(address)
        flash("That is not the operator token.", "error")
    status = 401 if request.method == "POST" else 200
    return render_template("loom_operator/login.html", form=form), status  # type: ignore[return-value]


@blueprint.post("/logout")
@page
def sign_out() -> BaseResponse:
    _operator_sessions().end()
    logout_user()
    return redirect(url_for("operator_ui.sign_in"))
