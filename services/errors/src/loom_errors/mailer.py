"""Sending one email over SMTP to ``LOOM_SMTP_URL`` (smtp://, smtps:// or smtp+starttls://)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from loom_common.mail_headers import one_line
from loom_common.settings import Settings


def send_email(
    settings: Settings, recipients: list[str], subject: str, body: str, timeout: float
) -> None:
    """Raise ``OSError`` or ``smtplib.SMTPException`` when the mail could not be handed over."""
    message = EmailMessage()
    message["From"] = one_line(settings.smtp_from)
    message["To"] = one_line(", ".join(recipients), limit=10_000)
    message["Subject"] = one_line(subject)
    message.set_content(body)
    url = urlsplit(settings.smtp_url)
    host = url.hostname or "127.0.0.1"
    client: smtplib.SMTP
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, url.port or 465, timeout=timeout)
    else:
        client = smtplib.SMTP(host, url.port or 25, timeout=timeout)
    with client:
        if url.scheme == "smtp+starttls":
            client.starttls()
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)
