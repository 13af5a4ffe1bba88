"""Reading what the stack's SMTP sink received, as a mail reader would."""

from __future__ import annotations

from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

from conftest import Stack
from polling import wait_for


@dataclass(frozen=True)
class ReceivedEmail:
    to: list[str]
    envelope_to: list[str]
    subject: str
    content_type: str
    parts: dict[str, str]  # "text/plain" / "text/html" -> decoded text

    @property
    def text(self) -> str:
        return self.parts.get("text/plain", "")

    @property
    def html(self) -> str:
        return self.parts.get("text/html", "")


def _decoded(message: Message) -> ReceivedEmail:
    parts: dict[str, str] = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        charset = part.get_content_charset() or "utf-8"
        parts.setdefault(part.get_content_type(), payload.decode(charset))
    return ReceivedEmail(
        to=[address.lower() for _, address in getaddresses(message.get_all("To", []))],
        envelope_to=[a.strip().lower() for a in message.get("X-RcptTo", "").split(",")],
        subject=str(make_header(decode_header(message.get("Subject", "")))),
        content_type=message.get_content_type(),
        parts=parts,
    )


def emails_to(stack: Stack, address: str) -> list[ReceivedEmail]:
    return [
        email
        for email in map(_decoded, list(stack.mail.messages))
        if address.lower() in email.envelope_to
    ]


def wait_for_email(
    stack: Stack, address: str, subject_has: str, timeout: float = 45
) -> ReceivedEmail:
    """The first email to ``address`` whose subject contains ``subject_has``."""

    def arrived() -> ReceivedEmail | None:
        found = [e for e in emails_to(stack, address) if subject_has in e.subject]
        return found[0] if found else None

    return wait_for(
        arrived, timeout=timeout, interval=0.2, message=f"an email {subject_has!r} to {address}"
    )
