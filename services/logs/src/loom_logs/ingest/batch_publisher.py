"""A bounded buffer of records and the one thread that publishes them to the logs queue in batches.

Receivers never wait on RabbitMQ: :meth:`BatchPublisher.offer` returns at once, and when the
buffer is full (the broker is down or slow) the record is dropped and counted. A failed publish
keeps its batch and tries again after a pause, so a broker restart loses only what overflowed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from loguru import logger

from loom_logs.metrics import INGEST_REFUSED, RECORDS_ACCEPTED

Publish = Callable[[list[dict[str, Any]]], None]
RETRY_PAUSE = 1.0


class BatchPublisher:
    def __init__(
        self,
        publish: Publish,
        *,
        source: str,
        capacity: int,
        batch_size: int,
        interval: float = 0.2,
    ) -> None:
        self.publish = publish
        self.source = source
        self.batch_size = batch_size
        self.interval = interval
        self._buffer: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=capacity)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"publish-{source}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, record: dict[str, Any], source: str) -> bool:
        """Queue one record for publishing; False (and counted) if the buffer is full."""
        try:
            self._buffer.put_nowait(record)
        except queue.Full:
            INGEST_REFUSED.labels(source=source, reason="buffer_full").inc()
            return False
        return True

    @property
    def pending(self) -> int:
        return self._buffer.qsize()

    def stop(self, timeout: float = 10.0) -> None:
        """Publish what is buffered (as far as the broker allows), then stop."""
        self._stopping.set()
        self._thread.join(timeout)

    def _next_batch(self) -> list[dict[str, Any]]:
        try:
            batch = [self._buffer.get(timeout=self.interval)]
        except queue.Empty:
            return []
        while len(batch) < self.batch_size:
            try:
                batch.append(self._buffer.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        batch: list[dict[str, Any]] = []
        while not (self._stopping.is_set() and not batch and self._buffer.empty()):
            batch = batch or self._next_batch()
            if not batch:
                continue
            try:
                self.publish(batch)
            except Exception as error:  # the broker is away: keep the batch, try again
                logger.warning("cannot publish {} log records yet: {}", len(batch), error)
                if self._stopping.wait(RETRY_PAUSE):
                    return
                continue
            RECORDS_ACCEPTED.labels(source=self.source).inc(len(batch))
            batch = []
