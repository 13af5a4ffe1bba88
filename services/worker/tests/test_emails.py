"""Email jobs: multipart text + HTML over a real SMTP conversation, each email sent once."""

from __future__ import annotations

import ssl
import subprocess
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType

import dramatiq
import pytest
from flask import Flask
from helpers import enqueue, wait_for_status
from peers import SmtpSink

from loom_common.contracts import (
    JOB_PASSWORD_RESET_EMAIL,
    JOB_TASK_ASSIGNED_EMAIL,
    JOB_WELCOME_EMAIL,
)
from loom_common.testing import free_port, wait_until
from loom_worker.job_context import JobContext
from loom_worker.jobs.emails import WelcomeArgs, welcome
from loom_worker.mail.smtp import SmtpTarget, send_email


def parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


def sent_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages if m["To"] == address]


def test_welcome_email_is_multipart_from_the_sender_with_a_job_message_id(
    app: Flask, worker: dramatiq.Worker, smtp: SmtpSink
) -> None:
    job = enqueue(app, JOB_WELCOME_EMAIL, {"to": "ada@example.com", "name": "Ada"}).json
    done = wait_for_status(app, job["id"], "succeeded")

    [message] = wait_until(lambda: sent_to(smtp, "ada@example.com"), timeout=5)
    assert message["From"] == "Loom <loom@localhost>"
    assert message["Subject"] == "Welcome to Loom"
    assert message["Message-ID"] == f"<{job['id']}@localhost>"
    assert done["result"] == {"message_id": message["Message-ID"], "sent": True}
    assert message.get_content_type() == "multipart/alternative"
    body = parts(message)
    assert "Hello Ada," in body["text/plain"]
    assert "<p>Hello Ada,</p>" in body["text/html"]


def test_values_are_escaped_in_the_html_part(
    app: Flask, worker: dramatiq.Worker, smtp: SmtpSink
) -> None:
    args = {
        "to": "grace@example.com",
        "name": "<script>alert(1)</script>",
        "task_title": "Fix <b>it</b>",
        "project_name": "Apollo & co",
        "task_url": "https://loom.example/tasks/7",
        "assigned_by": "Ada",
    }
    job = enqueue(app, JOB_TASK_ASSIGNED_EMAIL, args).json
    wait_for_status(app, job["id"], "succeeded")

    [message] = wait_until(lambda: sent_to(smtp, "grace@example.com"), timeout=5)
    html = parts(message)["text/html"]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Fix &lt;b&gt;it&lt;/b&gt;" in html
    assert 'href="https://loom.example/tasks/7"' in html
    assert message["Subject"] == "Ada assigned you \u201cFix <b>it</b>\u201d"


def test_password_reset_link_is_in_both_parts_but_not_in_the_job_record(
    app: Flask, worker: dramatiq.Worker, smtp: SmtpSink
) -> None:
    link = "https://loom.example/reset/one-time-abc"
    args = {
        "to": "linus@example.com",
        "name": "Linus",
        "reset_token_url": link,
        "expires_minutes": 30,
    }
    job = enqueue(app, JOB_PASSWORD_RESET_EMAIL, args).json
    done = wait_for_status(app, job["id"], "succeeded")

    [message] = wait_until(lambda: sent_to(smtp, "linus@example.com"), timeout=5)
    body = parts(message)
    assert link in body["text/plain"] and link in body["text/html"]
    assert "within 30 minutes" in body["text/plain"]
    assert "one-time-abc" not in str(done)


def test_a_redelivered_email_job_is_not_sent_twice(actors: ModuleType, smtp: SmtpSink) -> None:
    context = JobContext("redelivered-job-1", actors.settings, actors.config, actors.database)
    args = WelcomeArgs(to="once@example.com", name="Once")

    first = welcome(args, context)
    second = welcome(args, context)  # what a redelivery of the same message runs

    assert first["sent"] is True and second["sent"] is False
    assert len(sent_to(smtp, "once@example.com")) == 1


def test_smtp_login_from_the_url(actors: ModuleType) -> None:
    seen: list[tuple[str, str]] = []

    def authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        from aiosmtpd.smtp import AuthResult

        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"p@ss word")

    sink = SmtpSink(free_port(), authenticator=authenticate, auth_require_tls=False)
    sink.start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "hi"
        message.set_content("hello")
        send_email(f"smtp://mailer:p%40ss%20word@127.0.0.1:{sink.port}", message)
    finally:
        sink.stop()
    assert seen == [("mailer", "p@ss word")]
    assert [m["Subject"] for m in sink.messages] == ["hi"]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_schemes_encrypt_the_conversation(scheme: str, certificate: tuple[Path, Path]) -> None:
    key, cert = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    options = {"tls_context": server_tls, "require_starttls": True}
    if scheme == "smtps":
        options = {"ssl_context": server_tls}
    sink = SmtpSink(free_port(), **options)
    sink.start()
    client_tls = ssl.create_default_context(cafile=str(cert))
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "a@example.com",
            "b@example.com",
            scheme,
        )
        message.set_content("over TLS")
        send_email(f"{scheme}://127.0.0.1:{sink.port}", message, tls_context=client_tls)
    finally:
        sink.stop()
    assert [m["Subject"] for m in sink.messages] == [scheme]


def test_smtp_url_forms() -> None:
    assert SmtpTarget.from_url("smtps://mail.example") == SmtpTarget(
        "smtps", "mail.example", 465, None, None
    )
    assert SmtpTarget.from_url("smtp+starttls://u:p@mail.example").port == 587
    with pytest.raises(ValueError, match="smtp://"):
        SmtpTarget.from_url("http://mail.example")
