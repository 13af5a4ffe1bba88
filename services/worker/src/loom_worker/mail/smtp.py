"""One SMTP conversation per email, to ``LOOM_SMTP_URL``.

``smtp://host:port`` (plain), ``smtp+starttls://`` (upgrade with STARTTLS), ``smtps://``
(TLS from the start); ``user:password@`` in the URL logs in.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 30.0
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("expected smtp://, smtps:// or smtp+starttls://host:port")
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def send_email(url: str, message: EmailMessage, tls_context: ssl.SSLContext | None = None) -> None:
    """Deliver ``message``; returns once the server accepted it, raises otherwise."""
    target = SmtpTarget.from_url(url)
    context = tls_context or ssl.create_default_context()
    client: smtplib.SMTP
    if target.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            target.host, target.port, timeout=TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_SECONDS)
    with client:
        client.ehlo()
        if target.scheme == "smtp+starttls":
            client.starttls(context=context)
            client.ehlo()
        if target.username:
            client.login(target.username, target.password or "")
        refused = client.send_message(message)
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)
