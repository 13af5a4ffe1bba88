"""Dramatiq middleware that keeps the worker's job records up to date.

It must sit before Retries in the middleware list: after-hooks run in reverse order, so
it then sees whether Retries will run the message again or has sent it to the dead letters.
"""

from __future__ import annotations

import logging
from typing import Any

from dramatiq import Middleware
from loguru import logger

from loom_common.db import Database, utcnow
from loom_common.scrub import scrub
from loom_worker.models import Job


def _describe(exception: BaseException) -> str:
    return f"{type(exception).__name__}: {exception}"


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
                    arguments=scrub({"args": list(message.args), "kwargs": message.kwargs}),
                    request_id=message.options.get("request_id"),
                    attempts=0,
                )
                session.add(job)
            job.status = "running"
            job.attempts += 1
            job.started_at = utcnow()

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        try:
            self._record_outcome(message, result, exception)
        except Exception:
            # The job itself is done; a bookkeeping failure must not make it run again.
            logger.exception("could not record the outcome of job {}", message.message_id)

    def _record_outcome(self, message: Any, result: Any, exception: BaseException | None) -> None:
        with self.database.session() as session:
            job = session.get(Job, message.message_id)
            if job is None:
                return
            if exception is None:
                job.status, job.result, job.error = "succeeded", result, None
                job.finished_at = utcnow()
            elif message.failed:
                job.status, job.error = "dead", _describe(exception)
                job.finished_at = utcnow()
            else:
                job.status, job.error = "retrying", _describe(exception)


class ResultsAreKept(logging.Filter):
    """Dramatiq warns that a returned value is discarded without its Results middleware;
    here JobTracking keeps it in the job record, so the warning would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned a value that is not None" not in record.getMessage()


def silence_discarded_result_warning() -> None:
    logging.getLogger("dramatiq.worker.WorkerThread").addFilter(ResultsAreKept())
