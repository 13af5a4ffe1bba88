"""Carry the request id from the sender into the actor (message option ``request_id``)."""

from __future__ import annotations

from contextvars import Token
from typing import Any

from dramatiq import Middleware

from loom_common.db_routing import start_unit_of_work
from loom_common.request_context import new_request_id, request_id_var


class RequestIdPropagation(Middleware):
    """On enqueue, stamp the current request id (or a new one) on the message; while the actor
    runs, make it the current request id so its logs, errors and own messages carry it."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token[str | None]] = {}

    def before_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        message.options.setdefault("request_id", request_id_var.get() or new_request_id())

    def before_process_message(self, broker: Any, message: Any) -> None:
        request_id = message.options.get("request_id") or new_request_id()
        self._tokens[message.message_id] = request_id_var.set(request_id)
        start_unit_of_work()

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        token = self._tokens.pop(message.message_id, None)
        if token is not None:
            request_id_var.reset(token)

    after_skip_message = after_process_message
