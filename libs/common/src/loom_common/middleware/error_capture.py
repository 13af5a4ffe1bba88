"""Capture exceptions raised by actors as error events (through sentry-sdk, see error_capture.py)."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from dramatiq import Middleware

from loom_common.contracts import ERRORS_ACTOR


def _captured_by(event: Any) -> str | None:
    tags = event.get("tags") if isinstance(event, dict) else None
    if isinstance(tags, dict):
        return tags.get("actor")
    if isinstance(tags, list):
        return next((value for key, value in tags if key == "actor"), None)
    return None


def is_failure_about_itself(message: Any) -> bool:
    """A failure while ingesting an event that was itself raised by the error ingest actor.

    Capturing it would feed the errors queue with events about events, forever; one level
    of report is kept, the next is only logged and dead-lettered.
    """
    if message.actor_name != ERRORS_ACTOR:
        return False
    return _captured_by(message.kwargs.get("event")) == ERRORS_ACTOR


class ErrorCapture(Middleware):
    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        if exception is None or is_failure_about_itself(message):
            return
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("actor", message.actor_name)
            scope.set_tag("queue", message.queue_name)
            scope.set_tag("message_id", message.message_id)
            scope.set_tag("attempt", str(message.options.get("retries", 0)))
            scope.set_context("job", {"actor": message.actor_name, "args": len(message.args)})
            sentry_sdk.capture_exception(exception)
