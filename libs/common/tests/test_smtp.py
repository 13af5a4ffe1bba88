"""The one SMTP sender, over real SMTP conversations with an aiosmtpd sink: the URL says the
port, the security and the login; refused recipients are reported, never dropped silently."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from loom_common.mail.sink import SmtpSink
from loom_common.mail.smtp import RecipientsRefused, SmtpTarget, send_email
from loom_common.testing import free_port


def _message(to: str, subject: str = "hi") -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", to, subject
    message["Message-ID"] = "<m-1@example.com>"
    message.set_content("hello")
    return message


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(free_port(), refuse={"nobody@example.com", "ghost@example.com"})
    sink.start()
    yield sink
    sink.stop()


def test_every_recipient_refused_raises_naming_them(sink: SmtpSink) -> None:
    message = _message("nobody@example.com, ghost@example.com")

    with pytest.raises(RecipientsRefused) as refused:
        send_email(f"smtp://127.0.0.1:{sink.port}", message)

    assert str(refused.value) == (
        "the SMTP server refused every recipient: nobody@example.com (550 no such user here),"
        " ghost@example.com (550 no such user here)"
    )
    assert sink.messages == []


def test_some_recipients_refused_are_returned_and_the_others_get_the_mail(
    sink: SmtpSink, log_records: list[dict[str, object]]
) -> None:
    message = _message("ada@example.com, nobody@example.com")

    refused = send_email(f"smtp://127.0.0.1:{sink.port}", message)

    assert refused == {"nobody@example.com": (550, b"no such user here")}
    assert [envelope.rcpt_tos for envelope in sink.handler.envelopes] == [["ada@example.com"]]
    warnings = [r["message"] for r in log_records if r["level"].name == "WARNING"]  # type: ignore[attr-defined]
    assert warnings == [
        "email <m-1@example.com> not delivered to nobody@example.com (550 no such user here)"
    ]


def test_smtp_login_from_the_url() -> None:
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
    assert SmtpTarget.from_url("smtp://mail.example:587") == SmtpTarget(
        "smtp+starttls", "mail.example", 587, None, None
    )
    assert SmtpTarget.from_url("smtp://mail.example?starttls").port == 587
    assert SmtpTarget.from_url("smtp://mail.example:2525?starttls").scheme == "smtp+starttls"
    assert SmtpTarget.from_url("smtp://mail.example:465").scheme == "smtps"
    assert SmtpTarget.from_url("smtp://mail.example") == SmtpTarget(
        "smtp", "mail.example", 25, None, None
    )


def test_starttls_asked_for_in_the_query(certificate: tuple[Path, Path]) -> None:
    key, cert = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sink = SmtpSink(free_port(), tls_context=server_tls, require_starttls=True)
    sink.start()
    try:
        send_email(
            f"smtp://127.0.0.1:{sink.port}?starttls",
            _message("b@example.com", "starttls"),
            tls_context=ssl.create_default_context(cafile=str(cert)),
        )
    finally:
        sink.stop()
    assert [m["Subject"] for m in sink.messages] == ["starttls"]
