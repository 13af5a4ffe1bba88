"""Dramatiq middleware that keeps the worker's job records up to date.

queued (POST /api/jobs) -> running -> succeeded, or retrying -> ... -> dead (retries
exhausted, in ``<queue>.XQ``), or failed (a permanent error such as invalid arguments; also
kept in ``<queue>.XQ``). Each delivery first claims the record (job_claims.py): a duplicate
of a finished job, or a second copy of a job running now, is acked without running; a job
redelivered because its worker died runs again as a new attempt on the same record. The
claim is one commit on the worker thread; the outcomes go through one writer thread per
process, many jobs per transaction (record_writer.py).

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
from loom_common.scrubbing import scrub_event, scrub_text
from loom_worker.job_claims import claim_job
from loom_worker.metrics import JOBS_SKIPPED
from loom_worker.record_writer import Change, RecordWriter, Written

# How long an ack waits for its job's outcome to be stored before it goes ahead regardless.
OUTCOME_WAIT_SECONDS = 60.0


class InvalidJobArguments(ValueError):
    """The message's arguments do not fit the job's model: retrying cannot help."""


def describe(exception: BaseException) -> str:
    """An error as a job record keeps it: exception texts often quote the arguments."""
    return scrub_text(f"{type(exception).__name__}: {exception}")


def record_arguments(kwargs: dict[str, Any], args: Any = ()) -> dict[str, Any]:
    """What a job record keeps of its arguments: secrets replaced by ``[Filtered]``."""
    scrubbed: dict[str, Any] = scrub_event({"args": list(args), "kwargs": kwargs})
    return scrubbed


def _is_permanent(broker: Any, message: Any, exception: BaseException) -> bool:
    actor = broker.get_actor(message.actor_name)
    throws = message.options.get("throws") or actor.options.get("throws")
    return bool(throws) and isinstance(exception, throws)


class JobTracking(Middleware):
    """Records go through a :class:`RecordWriter`; the ack (or nack) of a message waits until
    its outcome is stored, so a job that is acked always has a record that says how it ended."""

    def __init__(self, database: Database, records: RecordWriter | None = None) -> None:
        self.database = database
        self.records = records or RecordWriter(database)
        # What each message's ack waits for, by the message object being processed.
        self._outcomes: dict[int, Written] = {}

    def before_process_message(self, broker: Any, message: Any) -> None:
        new_record = {
            "actor": message.actor_name,
            "queue": message.queue_name.removesuffix(".DQ"),
            "arguments": record_arguments(message.kwargs, message.args),
            "request_id": message.options.get("request_id"),
        }
        claim = claim_job(self.database, message, new_record)
        if claim != "claimed":
            reason = claim if claim == "running_elsewhere" else f"already_{claim}"
            JOBS_SKIPPED.labels(reason).inc()
            raise SkipMessage(f"job {message.message_id}: {claim.replace('_', ' ')}")

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        try:
            outcome = _outcome(broker, message, result, exception)
            self._submit_outcome(message, outcome)
        except Exception:
            # The job itself is done; a bookkeeping failure must not make it run again.
            logger.exception("could not record the outcome of job {}", message.message_id)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        if not message.failed:
            return  # skipped because it already succeeded: the record says so
        reason = message.options.get("dead_letter_reason") or "rejected by a middleware"
        outcome = {"status": "dead", "finished_at": utcnow(), "error": scrub_text(reason)}
        self._submit_outcome(message, outcome)

    def before_ack(self, broker: Any, message: Any) -> None:
        self._wait_for_outcome(message)

    def before_nack(self, broker: Any, message: Any) -> None:
        self._wait_for_outcome(message)

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self.records.flush()

    def _submit_outcome(self, message: Any, outcome: dict[str, Any]) -> None:
        written = self.records.submit(Change(message.message_id, outcome), wait_for_it=True)
        if written is not None:
            self._outcomes[id(message)] = written

    def _wait_for_outcome(self, message: Any) -> None:
        written = self._outcomes.pop(id(message), None)
        if written is not None and not written.wait(OUTCOME_WAIT_SECONDS):
            logger.error(
                "the outcome of job {} is not stored: {}",
                message.message_id,
                written.error or f"not written within {OUTCOME_WAIT_SECONDS}s",
            )


def _outcome(
    broker: Any, message: Any, result: Any, exception: BaseException | None
) -> dict[str, Any]:
    """The columns a finished run sets on its record."""
    if exception is None:
        kept = scrub_event(result)
        return {"status": "succeeded", "result": kept, "error": None, "finished_at": utcnow()}
    if message.failed:
        permanent = _is_permanent(broker, message, exception)
        status = "failed" if permanent else "dead"
        return {"status": status, "error": describe(exception), "finished_at": utcnow()}
    return {"status": "retrying", "error": describe(exception)}


class ResultsAreKept(logging.Filter):
    """Dramatiq warns that a returned value is discarded without its Results middleware;
    here JobTracking keeps it in the job record, so the warning would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned a value that is not None" not in record.getMessage()


def silence_discarded_result_warning() -> None:
    logging.getLogger("dramatiq.worker.WorkerThread").addFilter(ResultsAreKept())
