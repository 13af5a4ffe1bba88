"""Keep an actor's own log lines out of the log shipper (actor option ``ship_logs=False``).

The logs consumer needs it: storing a batch must not produce a batch to store.
"""

from __future__ import annotations

from contextvars import Token
from typing import Any

from dramatiq import Middleware

from loom_common.log_shipping import shipping_paused


class ShippingPause(Middleware):
    def __init__(self) -> None:
        self._tokens: dict[str, Token[bool]] = {}

    @property
    def actor_options(self) -> set[str]:
        return {"ship_logs"}

    def before_process_message(self, broker: Any, message: Any) -> None:
        actor = broker.get_actor(message.actor_name)
        if actor.options.get("ship_logs", True) is False:
            self._tokens[message.message_id] = shipping_paused.set(True)

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        token = self._tokens.pop(message.message_id, None)
        if token is not None:
            shipping_paused.reset(token)

    after_skip_message = after_process_message
