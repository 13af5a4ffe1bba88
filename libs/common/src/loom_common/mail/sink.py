"""An SMTP sink for tests: aiosmtpd on a port of the test's choosing, keeping what it is handed.

``stop()`` and ``start()`` again on the same port (an SMTP server that goes away and comes
back); ``refuse`` names recipients it answers 550 to. Needs aiosmtpd (loom-common's ``test``
extra).
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Collect:
    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"


class SmtpSink:
    """aiosmtpd on ``port``; ``controller_options`` go to aiosmtpd's Controller (TLS, auth)."""

    def __init__(self, port: int, *, refuse: set[str] | None = None, **controller_options: Any):
        self.port = port
        self.handler = _Collect(refuse or set())
        self.options = controller_options
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def start(self) -> None:
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **self.options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
