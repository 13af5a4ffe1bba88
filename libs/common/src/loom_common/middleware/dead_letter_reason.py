"""Write why a message is given up on into its options (``dead_letter_reason``).

The dead-letter consumer in broker.py publishes the options with the message, so whoever
reads the dead-letter queue sees ``Type: message`` even for exceptions listed in an actor's
``throws`` (for which Retries records no traceback). Must sit before Retries in the list.
"""

from __future__ import annotations

from typing import Any

from dramatiq import Middleware


class DeadLetterReason(Middleware):
    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        if exception is not None and message.failed:
            message.options["dead_letter_reason"] = f"{type(exception).__name__}: {exception}"
