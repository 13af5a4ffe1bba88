"""One writer thread per consumer process, storing the events of all its worker threads together.

Dramatiq runs the ``errors.ingest`` actor in several threads, each with one message. Each
thread prepares its event (validation, grouping, scrubbing) and hands it to the writer, then
waits: the writer takes every event waiting (up to ``max_batch``) and stores them in one
transaction. The actor returns, and Dramatiq acks the message, only after that commit, so a
crash loses nothing (the messages come back) and a redelivered event is a duplicate by id.

No waiting for a batch to fill: while one batch is written, the next one gathers, so the
batch size follows the load. A batch that fails is retried event by event, so one event that
cannot be stored fails only its own message.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from loguru import logger

from loom_errors.store.event_batch import PreparedEvent, Stored

StoreBatch = Callable[[list[PreparedEvent]], list[Stored]]


@dataclass(frozen=True)
class Outcome:
    """An event's outcome, and whether its thread should decide an alert on it.

    Alerts are decided once per issue per batch, on its most telling event (a new issue, else
    a regression, else the latest): the others would only meet the issue's cooldown. None
    when the project had no recipients as the batch committed.
    """

    stored: Stored
    alert: bool


def _alerting(outcomes: list[Stored]) -> set[int]:
    chosen: dict[int, int] = {}
    for index, stored in enumerate(outcomes):
        if stored.duplicate or not stored.may_alert:
            continue
        issue_id = stored.issue.id
        previous = chosen.get(issue_id)
        if previous is None:
            chosen[issue_id] = index
            continue
        kept = outcomes[previous]
        if not (kept.new_issue or kept.regression) or stored.new_issue:
            chosen[issue_id] = index
    return set(chosen.values())


class BatchWriter:
    def __init__(self, store_batch: StoreBatch, max_batch: int = 100) -> None:
        self._store_batch = store_batch
        self.max_batch = max_batch
        self._waiting: queue.SimpleQueue[tuple[PreparedEvent, Future[Outcome]]] = (
            queue.SimpleQueue()
        )
        self._start_lock = threading.Lock()
        self._owner_pid: int | None = None

    def store(self, prepared: PreparedEvent) -> Outcome:
        """Store the event with whatever else is waiting; return once it is committed."""
        self._ensure_thread()
        done: Future[Outcome] = Future()
        self._waiting.put((prepared, done))
        return done.result()

    def _ensure_thread(self) -> None:
        # Started lazily, and again in a forked child (threads do not survive a fork).
        if self._owner_pid == os.getpid():
            return
        with self._start_lock:
            if self._owner_pid != os.getpid():
                self._waiting = queue.SimpleQueue()
                thread = threading.Thread(target=self._run, name="errors-batch-writer", daemon=True)
                thread.start()
                self._owner_pid = os.getpid()

    def _run(self) -> None:
        while True:
            batch = [self._waiting.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[tuple[PreparedEvent, Future[Outcome]]]) -> None:
        try:
            outcomes = self._store_batch([prepared for prepared, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            logger.warning(
                "storing a batch of {} events failed ({}); one by one", len(batch), error
            )
            for single in batch:
                self._write([single])
            return
        alerting = _alerting(outcomes)
        for index, ((_, done), stored) in enumerate(zip(batch, outcomes, strict=True)):
            done.set_result(Outcome(stored, index in alerting))
