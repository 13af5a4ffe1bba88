"""Emails from Jinja templates: ``templates/emails/<name>.txt`` and ``<name>.html``."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from loom_common.mail_headers import one_line


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("loom_worker", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a missing value is a bug, not a blank in an email
        keep_trailing_newline=True,
    )


def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def compose_email(
    template: str,
    *,
    sender: str,
    to: str,
    subject: str,
    message_id: str,
    values: dict[str, Any],
) -> EmailMessage:
    """A multipart/alternative message (text first, HTML preferred by mail readers)."""
    templates = _templates()
    message = EmailMessage()
    message["From"] = sender
    message["To"] = str(Address(addr_spec=to))
    message["Subject"] = one_line(subject)  # subjects can carry user data (names)
    message["Message-ID"] = message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message.set_content(templates.get_template(f"emails/{template}.txt").render(**values))
    message.add_alternative(
        templates.get_template(f"emails/{template}.html").render(**values), subtype="html"
    )
    return message
