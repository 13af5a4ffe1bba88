"""An alert email, handed to ``LOOM_SMTP_URL`` by loom_common's one SMTP sender."""

from __future__ import annotations

from email.message import EmailMessage

from loom_common.mail.smtp import send_email
from loom_common.mail_headers import one_line
from loom_common.settings import Settings


def send_alert_email(
    settings: Settings, recipients: list[str], subject: str, body: str, timeout: float
) -> None:
    """Raise ``OSError`` or ``smtplib.SMTPException`` (every recipient refused included) when
    the mail could not be handed over; recipients refused while others got it are logged."""
    message = EmailMessage()
    message["From"] = one_line(settings.smtp_from)
    message["To"] = one_line(", ".join(recipients), limit=10_000)
    message["Subject"] = one_line(subject)
    message.set_content(body)
    send_email(settings.smtp_url, message, timeout=timeout)
