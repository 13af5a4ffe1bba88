"""Accounts through the pages and the API: register, log in and out, cookies and CSRF,
log-in rate limits, personal API tokens, password reset, login sessions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from web_helpers import (
    PASSWORD,
    Drain,
    JobsQueue,
    Person,
    csrf_token,
    post_form,
    register,
    unique_email,
)

from loom_common.contracts import JOB_PASSWORD_RESET_EMAIL, JOB_WELCOME_EMAIL, LOGS_QUEUE
from loom_common.db import utcnow
from loom_common.flask_app import app_database as database
from loom_common.settings import Settings
from loom_common.testing import (
    DEPLOYED_API_TOKEN,
    DEPLOYED_SECRET_KEY,
    OPEN_REDIRECT_PAYLOADS,
    wait_until,
)
from loom_web.app import create_app
from loom_web.config import WebConfig
from loom_web.models import ApiToken, LoginSession, PasswordResetToken, User


def _without_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*>', "", page)


def _log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> object:
    return post_form(client, "/login", "/login", {"email": email, "password": password})


def test_registering_queues_the_welcome_email_and_hashes_the_password(
    app: Flask, jobs: JobsQueue
) -> None:
    client = app.test_client()
    email = unique_email("grace")
    response = post_form(
        client,
        "/register",
        "/register",
        {"email": email.upper(), "name": "Grace", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert _log_in(client, email).status_code == 302  # type: ignore[attr-defined]
    assert client.get("/projects").status_code == 200

    message = jobs.wait(JOB_WELCOME_EMAIL, to=email)
    assert message["kwargs"] == {"to": email, "name": "Grace"}
    with database(app).session() as session:
        user = session.scalar(select(User).where(User.email == email))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_registering_a_taken_address_answers_as_a_new_one_and_changes_nothing(
    app: Flask, make_person: Callable[..., Person], jobs: JobsQueue
) -> None:
    # The page used to say "already exists": anyone could find out who has an account.
    ada = make_person("Ada")
    jobs.wait(JOB_WELCOME_EMAIL, to=ada.email)

    def answer(email: str, password: str) -> tuple[int, str, str]:
        client = app.test_client()
        form = {"email": email, "name": "Other", "password": password, "confirm": password}
        response = post_form(client, "/register", "/register", form)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        return response.status_code, response.headers["Location"], _without_csrf(page)

    other_password = "another long password"
    taken = answer(ada.email, other_password)
    new = answer(unique_email("new"), other_password)
    assert taken[:2] == new[:2] == (302, "/login")
    assert taken[2] == new[2]
    assert "If this address had no account" in taken[2]

    assert _log_in(app.test_client(), ada.email, other_password).status_code == 401  # type: ignore[attr-defined]
    assert _log_in(app.test_client(), ada.email).status_code == 302  # type: ignore[attr-defined]
    jobs.seen.extend(jobs.drain("jobs"))
    assert len(jobs.matching(JOB_WELCOME_EMAIL, to=ada.email)) == 1


def test_a_bad_registration_names_each_problem(client: FlaskClient) -> None:
    response = post_form(
        client,
        "/register",
        "/register",
        {"email": "not-an-email", "name": "", "password": "short", "confirm": "other"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Invalid email address" in page
    assert "between 8 and 1000 characters" in page
    assert "the passwords differ" in page


def test_pages_other_than_home_register_and_login_need_a_login(client: FlaskClient) -> None:
    for public in ("/", "/register", "/login", "/password/forgot"):
        assert client.get(public).status_code == 200, public
    for private in ("/projects", "/projects/1", "/settings"):
        response = client.get(private)
        assert response.status_code == 302, private
        assert urlsplit(response.headers["Location"]).path == "/login"


def test_the_session_cookie_is_httponly_and_lax_and_logging_out_ends_the_session(
    app: Flask, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    client = app.test_client()
    response = _log_in(client, ada.email)
    assert response.status_code == 302  # type: ignore[attr-defined]
    cookie = response.headers["Set-Cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie

    page = client.get("/settings").get_data(as_text=True)
    logout = client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert logout.status_code == 302
    assert client.get("/settings").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(
    app: Flask, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    response = ada.client.post("/projects", data={"name": "Sneaky"})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert "Sneaky" not in ada.client.get("/projects").get_data(as_text=True)
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'loom_web_refused_total{reason="csrf"}' in metrics


def test_outside_dev_and_test_the_session_cookie_is_secure(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(
        make_settings(
            "web", env="staging", secret_key=DEPLOYED_SECRET_KEY, api_token=DEPLOYED_API_TOKEN
        )
    )
    try:
        response = app.test_client().get("/login")
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        database(app).dispose()


def test_wrong_passwords_are_rate_limited_per_account_on_the_page(
    app: Flask, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    client = app.test_client()
    for _ in range(3):  # the fixture's log-in and token were the first attempts of five
        assert _log_in(client, ada.email, "wrong password").status_code == 401  # type: ignore[attr-defined]
    refused = _log_in(client, ada.email)  # even the right password, for now
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert int(refused.headers["Retry-After"]) > 0  # type: ignore[attr-defined]
    assert "Too many log-in attempts" in refused.get_data(as_text=True)  # type: ignore[attr-defined]
    # another account from the same address is still let in
    grace = make_person("Grace")
    assert _log_in(app.test_client(), grace.email).status_code == 302  # type: ignore[attr-defined]


def test_the_api_answers_429_with_retry_after_per_account_and_per_address(
    make_settings: Callable[..., Settings], make_person: Callable[..., Person]
) -> None:
    app = create_app(
        make_settings("web"),
        WebConfig(login_limit_per_account="3 per minute", login_limit_per_address="5 per minute"),
    )
    try:
        client = app.test_client()
        body = {"email": "nobody@example.com", "password": "guess"}
        codes = [client.post("/api/v1/auth/token", json=body).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        refused = client.post("/api/v1/auth/token", json=body)
        assert refused.json["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) > 0

        # per address: other accounts from the same address hit the address limit
        others = [
            client.post("/api/v1/auth/token", json={**body, "email": f"x{i}@example.com"})
            for i in range(3)
        ]
        assert [r.status_code for r in others][-1] == 429
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'loom_web_refused_total{reason="rate_limited"}' in metrics
    finally:
        database(app).dispose()


def test_personal_tokens_are_created_listed_and_revoked_through_the_api(
    app: Flask, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    client = app.test_client()
    created = client.post("/api/v1/tokens", json={"name": "script"}, headers=ada.headers)
    assert created.status_code == 201
    token = created.json["token"]
    assert token.startswith("loom_")

    listed = client.get("/api/v1/tokens", headers=ada.headers).json["items"]
    assert {t["name"] for t in listed} == {"tests", "script"}
    assert all("token" not in t for t in listed)
    with database(app).session() as session:
        hashes = list(session.scalars(select(ApiToken.token_hash)))
    assert token not in hashes and ada.token not in hashes

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json == {"id": me.json["id"], "name": "Ada", "email": ada.email}

    revoked = client.delete(f"/api/v1/tokens/{created.json['id']}", headers=ada.headers)
    assert revoked.status_code == 204
    gone = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401
    assert (
        client.delete(f"/api/v1/tokens/{created.json['id']}", headers=ada.headers).status_code
        == 404
    )


def test_tokens_are_shown_once_on_the_settings_page_and_revoked_there(
    app: Flask, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    response = post_form(ada.client, "/settings", "/settings", {"name": "laptop"})
    page = response.get_data(as_text=True)
    token = page.split('id="new-token">')[1].split("<")[0]
    assert token.startswith("loom_")
    assert (
        app.test_client()
        .get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 200
    )

    again = ada.client.get("/settings").get_data(as_text=True)
    assert token not in again and "laptop" in again
    with database(app).session() as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "laptop"))
    post_form(ada.client, "/settings", f"/settings/tokens/{token_id}/revoke", {})
    assert (
        app.test_client()
        .get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 401
    )


def test_an_operator_only_endpoint_refuses_a_personal_token(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    response = client.post("/api/v1/maintenance/cleanup", headers=ada.headers)
    assert response.status_code == 403
    assert "operator" in response.json["error"]["message"]


def _reset_link(jobs: JobsQueue, email: str) -> str:
    message = jobs.wait(JOB_PASSWORD_RESET_EMAIL, to=email)
    assert message["kwargs"]["expires_minutes"] == 30
    return urlsplit(message["kwargs"]["reset_token_url"]).path


def test_a_password_reset_link_works_once_and_ends_every_session(
    app: Flask, make_person: Callable[..., Person], jobs: JobsQueue
) -> None:
    ada = make_person("Ada")
    answer = post_form(
        app.test_client(), "/password/forgot", "/password/forgot", {"email": ada.email}
    )
    assert answer.status_code == 302
    path = _reset_link(jobs, ada.email)
    with database(app).session() as session:
        stored = list(session.scalars(select(PasswordResetToken.token_hash)))
    assert path.rsplit("/", 1)[1] not in stored  # only the hash is kept

    new_password = "a brand new password"
    client = app.test_client()
    opened = client.get(path)  # the link moves the browser to a form without the token
    assert opened.status_code == 302 and opened.headers["Location"] == "/password/reset"
    form = {"password": new_password, "confirm": new_password}
    done = post_form(client, "/password/reset", "/password/reset", form)
    assert done.status_code == 302
    assert ada.client.get("/settings").status_code == 302  # the old session is over
    assert _log_in(app.test_client(), ada.email, new_password).status_code == 302  # type: ignore[attr-defined]

    again = client.get(path)
    assert again.status_code == 404
    assert "invalid, used or expired" in again.get_data(as_text=True)


def test_an_expired_reset_link_is_refused_and_cleanup_removes_it(
    app: Flask,
    make_person: Callable[..., Person],
    jobs: JobsQueue,
    operator_headers: dict[str, str],
) -> None:
    ada = make_person("Ada")
    post_form(app.test_client(), "/password/forgot", "/password/forgot", {"email": ada.email})
    path = _reset_link(jobs, ada.email)
    with database(app).session() as session:
        session.execute(
            update(PasswordResetToken).values(expires_at=utcnow() - timedelta(minutes=1))
        )
        session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert app.test_client().get(path).status_code == 404
    assert ada.client.get("/settings").status_code == 302  # an expired session is no session

    cleaned = app.test_client().post("/api/v1/maintenance/cleanup", headers=operator_headers)
    assert cleaned.status_code == 200
    assert cleaned.json == {"sessions": 1, "password_resets": 1}


def test_forgetting_the_password_of_no_account_says_the_same_and_sends_nothing(
    app: Flask, jobs: JobsQueue
) -> None:
    email = unique_email("ghost")
    response = post_form(
        app.test_client(), "/password/forgot", "/password/forgot", {"email": email}
    )
    assert response.status_code == 302
    jobs.seen.extend(jobs.drain("jobs"))
    assert jobs.matching(JOB_PASSWORD_RESET_EMAIL, to=email) == []


def test_signing_out_other_sessions_from_settings(
    app: Flask, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    laptop = app.test_client()
    _log_in(laptop, ada.email)
    page = ada.client.get("/settings").get_data(as_text=True)
    assert page.count("<tr><td>") >= 2  # both sessions are listed
    post_form(ada.client, "/settings", "/settings/sessions/end-others", {})
    assert laptop.get("/settings").status_code == 302
    assert ada.client.get("/settings").status_code == 200


def test_logging_in_never_redirects_off_site(make_settings: Callable[..., Settings]) -> None:
    # Many log-ins of one account from one address: limits out of the way for this test.
    limits = WebConfig(login_limit_per_account="1000/minute", login_limit_per_address="1000/minute")
    app = create_app(make_settings("web"), limits)
    try:
        ada = register(app, "Ada")
        credentials = {"email": ada.email, "password": PASSWORD}
        for target in OPEN_REDIRECT_PAYLOADS:
            action = f"/login?next={quote(target, safe='')}"
            response = post_form(app.test_client(), action, action, credentials)
            assert response.status_code == 302, target
            assert response.headers["Location"] == "/projects", target
        kept = post_form(app.test_client(), "/login", "/login?next=/settings", credentials)
        assert kept.headers["Location"] == "/settings"
    finally:
        database(app).dispose()


def test_a_deeply_nested_token_log_in_is_400_naming_the_problem(client: FlaskClient) -> None:
    for body in ("[" * 5000 + "]" * 5000, '{"email": ' + "[" * 900 + "]" * 900 + "}"):
        response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert response.status_code == 400
        assert response.json["error"] == {
            "code": "bad_request",
            "message": "malformed JSON body: nested deeper than 100 levels",
        }


def test_an_opened_reset_link_is_spent_and_only_that_browser_can_set_the_password(
    app: Flask, make_person: Callable[..., Person], jobs: JobsQueue
) -> None:
    ada = make_person("Ada")
    post_form(app.test_client(), "/password/forgot", "/password/forgot", {"email": ada.email})
    path = _reset_link(jobs, ada.email)
    owner = app.test_client()
    assert owner.get(path).status_code == 302

    # Whoever read the link somewhere (a log, a proxy) finds it dead once it was opened.
    attacker = app.test_client()
    assert attacker.get(path).status_code == 404
    assert attacker.get("/password/reset").status_code == 404
    hijack = {"password": "someone else's", "confirm": "someone else's"}
    assert post_form(attacker, "/login", path, hijack).status_code == 404
    assert _log_in(app.test_client(), ada.email, "someone else's").status_code == 401  # type: ignore[attr-defined]

    page = owner.get("/password/reset")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    form = {"password": "the owner's new one", "confirm": "the owner's new one"}
    assert post_form(owner, "/password/reset", "/password/reset", form).status_code == 302
    assert owner.get("/password/reset").status_code == 404  # and the browser's token is spent


def test_a_reset_spends_every_other_link_of_the_account(
    app: Flask, make_person: Callable[..., Person], jobs: JobsQueue
) -> None:
    ada = make_person("Ada")
    for _ in range(2):
        post_form(app.test_client(), "/password/forgot", "/password/forgot", {"email": ada.email})

    def both_links() -> list[str]:
        jobs.seen.extend(jobs.drain("jobs"))
        found = jobs.matching(JOB_PASSWORD_RESET_EMAIL, to=ada.email)
        return (
            [urlsplit(m["kwargs"]["reset_token_url"]).path for m in found]
            if len(found) == 2
            else []
        )

    first, second = wait_until(both_links, message="two reset emails")
    client = app.test_client()
    client.get(first)
    form = {"password": "a brand new password", "confirm": "a brand new password"}
    assert post_form(client, "/password/reset", "/password/reset", form).status_code == 302
    assert app.test_client().get(second).status_code == 404


def test_the_reset_token_is_in_no_access_record_logged_or_shipped(
    app: Flask,
    make_person: Callable[..., Person],
    jobs: JobsQueue,
    drain_queue: Drain,
    capfd: pytest.CaptureFixture[str],
) -> None:
    ada = make_person("Ada")
    post_form(app.test_client(), "/password/forgot", "/password/forgot", {"email": ada.email})
    path = _reset_link(jobs, ada.email)
    token = path.rsplit("/", 1)[1]
    capfd.readouterr()
    client = app.test_client()
    client.get(path)
    form = {"password": "a brand new password", "confirm": "a brand new password"}
    post_form(client, "/password/reset", "/password/reset", form)

    logged = capfd.readouterr().out
    assert '"path":"/password/reset/<token>","status":302' in logged
    assert token not in logged

    shipped: list[Any] = []

    def shipped_the_access_record() -> bool:
        shipped.extend(m["kwargs"]["records"] for m in drain_queue(LOGS_QUEUE))
        return "/password/reset/<token>" in str(shipped)

    wait_until(shipped_the_access_record, message="the access record shipped to the logs queue")
    assert token not in str(shipped)


def _behind_nginx(make_settings: Callable[..., Settings], **limits: str) -> Flask:
    return create_app(make_settings("web", trusted_proxies=1), WebConfig(**limits))


def _log_in_from(app: Flask, address: str, email: str, password: str) -> int:
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return int(_log_in(client, email, password).status_code)  # type: ignore[attr-defined]


def test_behind_the_proxy_an_attacker_is_limited_by_their_own_address_not_everyone(
    make_settings: Callable[..., Settings],
) -> None:
    app = _behind_nginx(make_settings, login_limit_per_address="10 per minute")
    try:
        ada = register(app, "Ada")
        attacker, owner = "203.0.113.9", "198.51.100.7"
        codes = [_log_in_from(app, attacker, f"guess{i}@example.com", "guess") for i in range(11)]
        assert codes == [401] * 10 + [429]
        assert _log_in_from(app, owner, ada.email, PASSWORD) == 302
    finally:
        database(app).dispose()


def test_guessing_an_accounts_password_stops_the_guesser_not_the_owner(
    make_settings: Callable[..., Settings],
) -> None:
    app = _behind_nginx(make_settings)
    try:
        ada = register(app, "Ada")
        codes = [_log_in_from(app, "203.0.113.9", ada.email, "guess") for _ in range(6)]
        assert codes[-1] == 429 and set(codes[:-1]) <= {401, 429}
        assert _log_in_from(app, "203.0.113.9", ada.email, PASSWORD) == 429
        assert _log_in_from(app, "198.51.100.7", ada.email, PASSWORD) == 302
    finally:
        database(app).dispose()


def test_without_a_trusted_proxy_a_forwarded_address_is_not_believed(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings("web"), WebConfig(login_limit_per_address="3 per minute"))
    try:
        codes = [
            _log_in_from(app, f"203.0.113.{i}", f"guess{i}@example.com", "guess") for i in range(4)
        ]
        assert codes == [401, 401, 401, 429]
    finally:
        database(app).dispose()


def test_reset_requests_and_registrations_are_limited_per_email_and_per_address(
    app: Flask, jobs: JobsQueue, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    forgot = [
        post_form(app.test_client(), "/password/forgot", "/password/forgot", {"email": ada.email})
        for _ in range(4)
    ]
    assert [r.status_code for r in forgot] == [302, 302, 302, 429]
    assert int(forgot[-1].headers["Retry-After"]) > 0
    assert "Too many requests" in forgot[-1].get_data(as_text=True)

    def three_emails() -> list[dict[str, Any]]:
        jobs.seen.extend(jobs.drain("jobs"))
        return jobs.matching(JOB_PASSWORD_RESET_EMAIL, to=ada.email)

    assert len(wait_until(three_emails)) == 3
    jobs.seen.extend(jobs.drain("jobs"))
    assert len(three_emails()) == 3  # the refused request sent nothing

    codes = []
    for _ in range(20):
        form = {"email": unique_email(), "name": "Bot", "password": PASSWORD, "confirm": PASSWORD}
        codes.append(post_form(app.test_client(), "/register", "/register", form).status_code)
    assert codes[-1] == 429  # one address: 20 an hour, Ada's registration and requests included
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'loom_web_refused_total{reason="rate_limited"}' in metrics
