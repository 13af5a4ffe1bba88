"""One log record and one metric sample per actor run: actor, outcome, duration, request id."""

from __future__ import annotations

import time
from typing import Any

from dramatiq import Middleware
from loguru import logger

from loom_common.log_setup import log_structured
from loom_common.metrics import JOB_DURATION, JOBS


def job_outcome(message: Any, exception: BaseException | None) -> str:
    """succeeded, retrying (will run again) or failed (sent to the dead-letter queue)."""
    if exception is None:
        return "succeeded"
    return "failed" if message.failed else "retrying"


class JobRunLog(Middleware):
    """Must sit before Retries in the middleware list, so that its after-hook sees
    whether Retries gave up on the message."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: Any, message: Any) -> None:
        self._started[message.message_id] = time.perf_counter()

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        started = self._started.pop(message.message_id, None)
        duration = time.perf_counter() - started if started is not None else 0.0
        outcome = job_outcome(message, exception)
        JOBS.labels(self.service, message.actor_name, outcome).inc()
        JOB_DURATION.labels(self.service, message.actor_name).observe(duration)
        duration_ms = round(duration * 1000, 2)
        fields = {
            "actor": message.actor_name,
            "message_id": message.message_id,
            "outcome": outcome,
            "duration_ms": duration_ms,
            # Retries has already counted a failed run; a successful one is counted here.
            "attempt": message.options.get("retries", 0) + (1 if exception is None else 0),
        }
        # log_structured: the same record as through loguru, for much less work per job.
        if exception is None:
            log_structured(
                "INFO",
                lambda: f"job {message.actor_name} {outcome} in {duration * 1000:.1f} ms",
                __name__,
                lambda: fields,
            )
        else:
            log_structured(
                "WARNING",
                lambda: (
                    f"job {message.actor_name} {outcome} in {duration * 1000:.1f} ms: "
                    f"{type(exception).__name__}: {exception}"
                ),
                __name__,
                lambda: fields,
            )

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self._started.pop(message.message_id, None)
        JOBS.labels(self.service, message.actor_name, "skipped").inc()
        logger.bind(actor=message.actor_name, outcome="skipped").info(
            "job {} skipped", message.actor_name
        )
