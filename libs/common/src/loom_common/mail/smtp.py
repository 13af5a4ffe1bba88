"""Handing one email to the SMTP server named by a URL (``LOOM_SMTP_URL``).

- ``smtp://host[:port]``: plain, port 25 by default;
- STARTTLS (upgrade after connecting): ``smtp://host?starttls``, ``smtp+starttls://host``, or
  ``smtp://host:587`` (the submission port, RFC 6409); port 587 by default;
- implicit TLS (TLS from the first byte): ``smtps://host`` or ``smtp://host:465``; port 465
  by default.

``user:password@`` in the URL logs in (percent-encoded characters decoded). Every network
step is bounded by ``timeout``. Refused recipients are never silently dropped: all refused
raises :class:`RecipientsRefused` naming them; some refused returns them (the others got the
mail, so sending again would give them a second copy) and logs a warning naming them.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from loguru import logger

DEFAULT_TIMEOUT_SECONDS = 30.0
PLAIN, STARTTLS, IMPLICIT_TLS = "smtp", "smtp+starttls", "smtps"
DEFAULT_PORTS = {PLAIN: 25, STARTTLS: 587, IMPLICIT_TLS: 465}
# The well-known ports say the security when the scheme is plain smtp://.
_SECURITY_OF_PORT = {587: STARTTLS, 465: IMPLICIT_TLS}

Refused = dict[str, tuple[int, bytes]]


class RecipientsRefused(smtplib.SMTPRecipientsRefused):
    """The server refused every recipient: nothing was sent."""

    def __str__(self) -> str:
        return f"the SMTP server refused every recipient: {describe_refused(self.recipients)}"


def describe_refused(refused: Refused) -> str:
    """``a@example.com (550 no such user), ...``"""
    return ", ".join(
        f"{address} ({code} {reply.decode(errors='replace')})"
        for address, (code, reply) in refused.items()
    )


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect; ``scheme`` is the security: smtp, smtp+starttls or smtps."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            # Not the URL itself: it may hold the password.
            raise ValueError(
                "expected smtp://, smtps:// or smtp+starttls://host[:port],"
                f" got scheme {parts.scheme!r} and host {parts.hostname!r}"
            )
        scheme = parts.scheme
        if scheme == PLAIN and "starttls" in parse_qs(parts.query, keep_blank_values=True):
            scheme = STARTTLS
        elif scheme == PLAIN and parts.port in _SECURITY_OF_PORT:
            scheme = _SECURITY_OF_PORT[parts.port]
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _connect(
    target: SmtpTarget, timeout: float, context: ssl.SSLContext
) -> smtplib.SMTP | smtplib.SMTP_SSL:
    if target.scheme == IMPLICIT_TLS:
        return smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    return smtplib.SMTP(target.host, target.port, timeout=timeout)


def send_email(
    url: str,
    message: EmailMessage,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    tls_context: ssl.SSLContext | None = None,
) -> Refused:
    """Deliver ``message``; return the recipients refused while others were accepted.

    Raise :class:`RecipientsRefused` when all are refused, ``OSError`` or another
    ``smtplib.SMTPException`` when the server could not be reached or said no.
    """
    target = SmtpTarget.from_url(url)
    context = tls_context or ssl.create_default_context()
    with _connect(target, timeout, context) as client:
        client.ehlo()
        if target.scheme == STARTTLS:
            client.starttls(context=context)
            client.ehlo()  # the server's capabilities change once the line is encrypted
        if target.username:
            client.login(target.username, target.password or "")
        try:
            refused: Refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise RecipientsRefused(error.recipients) from None
    if refused:
        logger.warning(
            "email {} not delivered to {}", message["Message-ID"], describe_refused(refused)
        )
    return refused
