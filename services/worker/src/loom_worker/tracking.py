"""Dramatiq middleware that keeps the worker's job records up to date.

queued (POST /api/jobs) -> running -> succeeded, or retrying -> ... -> dead (retries
exhausted, in ``<queue>.XQ``), or failed (a permanent error such as invalid arguments; also
kept in ``<queue>.XQ``). A delivery of a job whose record already says succeeded (the worker
died between recording and acking) is acked without running it again.

It must sit before Retries in the middleware list: after-hooks run in reverse order, so
it then sees whether Retries will run the message again or has sent it to the dead letters.
"""

from __future__ import annotations

import logging
from typing import Any

from dramatiq import Middleware
from dramatiq.middleware import SkipMessage
from loguru import logger

from loom_common.db import Database, utcnow
from loom_common.scrub import scrub
from loom_worker.metrics import JOBS_SKIPPED
from loom_worker.models import Job


class InvalidJobArguments(ValueError):
    """The message's arguments do not fit the job's model: retrying cannot help."""


def describe(exception: BaseException) -> str:
    return f"{type(exception).__name__}: {exception}"


def record_arguments(kwargs: dict[str, Any], args: Any = ()) -> dict[str, Any]:
    """What a job record keeps of its arguments: secrets replaced by ``[Filtered]``."""
    scrubbed: dict[str, Any] = scrub({"args": list(args), "kwargs": kwargs})
    return scrubbed


def _is_permanent(broker: Any, message: Any, exception: BaseException) -> bool:
    actor = broker.get_actor(message.actor_name)
    throws = message.options.get("throws") or actor.options.get("throws")
    return bool(throws) and isinstance(exception, throws)


class JobTracking(Middleware):
    def __init__(self, database: Database) -> None:
        self.database = database

    def before_process_message(self, broker: Any, message: Any) -> None:
        with self.database.session() as session:
            job = session.get(Job, message.message_id)
            if job is None:
                job = Job(
                    id=message.message_id,
                    actor=message.actor_name,
                    queue=message.queue_name.removesuffix(".DQ"),
                    arguments=record_arguments(message.kwargs, message.args),
                    request_id=message.options.get("request_id"),
                    attempts=0,
                )
                session.add(job)
            elif job.status == "succeeded":
                JOBS_SKIPPED.labels("already_succeeded").inc()
                raise SkipMessage(f"job {job.id} already succeeded")
            job.status = "running"
            job.attempts += 1
            job.started_at = utcnow()

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        try:
            self._record_outcome(broker, message, result, exception)
        except Exception:
            # The job itself is done; a bookkeeping failure must not make it run again.
            logger.exception("could not record the outcome of job {}", message.message_id)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        if not message.failed:
            return  # skipped because it already succeeded: the record says so
        with self.database.session() as session:
            job = session.get(Job, message.message_id)
            if job is not None:
                job.status, job.finished_at = "dead", utcnow()
                job.error = message.options.get("dead_letter_reason") or "rejected by a middleware"

    def _record_outcome(
        self, broker: Any, message: Any, result: Any, exception: BaseException | None
    ) -> None:
        with self.database.session() as session:
            job = session.get(Job, message.message_id)
            if job is None:
                return
            if exception is None:
                job.status, job.result, job.error = "succeeded", result, None
                job.finished_at = utcnow()
            elif message.failed:
                permanent = _is_permanent(broker, message, exception)
                job.status = "failed" if permanent else "dead"
                job.error = describe(exception)
                job.finished_at = utcnow()
            else:
                job.status, job.error = "retrying", describe(exception)


class ResultsAreKept(logging.Filter):
    """Dramatiq warns that a returned value is discarded without its Results middleware;
    here JobTracking keeps it in the job record, so the warning would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned a value that is not None" not in record.getMessage()


def silence_discarded_result_warning() -> None:
    logging.getLogger("dramatiq.worker.WorkerThread").addFilter(ResultsAreKept())
