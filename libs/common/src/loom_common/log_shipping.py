"""A loguru sink that ships records to the logs service in batches, never blocking the caller.

The caller only appends the record to a bounded in-memory buffer; a background thread
publishes batches of up to ``batch_size`` records at least every ``interval`` seconds. When
the broker is unreachable the thread keeps the batch and retries with backoff; new records
fill the buffer meanwhile, and what does not fit is dropped and counted in ``/metrics``.
"""

from __future__ import annotations

import atexit
import collections
import itertools
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from loguru import logger

from loom_common.log_records import record_to_dict
from loom_common.metrics import LOG_RECORDS_DROPPED, LOG_RECORDS_SHIPPED
from loom_common.process import current_pid

# Set while handling work whose own log lines must not be shipped (the logs consumer storing a
# batch would otherwise produce a batch per batch, forever).
shipping_paused: ContextVar[bool] = ContextVar("loom_shipping_paused", default=False)

PublishBatch = Callable[[list[dict[str, Any]]], None]

_MAX_BACKOFF_SECONDS = 10.0


class LogShipper:
    """Buffers record dicts and ships them in batches; ``publish`` sends one batch and raises
    on failure. Also a loguru sink (callable with a loguru message)."""

    def __init__(
        self,
        service: str,
        publish: PublishBatch,
        *,
        batch_size: int = 500,
        interval: float = 1.0,
        capacity: int = 20_000,
    ) -> None:
        self.service = service
        self._publish = publish
        self._batch_size = batch_size
        self._interval = interval
        self._capacity = capacity
        self._buffer: collections.deque[dict[str, Any]] = collections.deque()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner_pid = 0
        self._start_lock = threading.Lock()
        self._dropped = LOG_RECORDS_DROPPED.labels(service=service, reason="buffer_full")
        self._shipped = LOG_RECORDS_SHIPPED.labels(service=service)

    def __call__(self, message: Any) -> None:
        """The loguru sink (used when stdout is human-readable; see log_setup.JsonLines)."""
        if self._accepting():
            self._append(record_to_dict(message.record))

    def put(self, record: dict[str, Any]) -> None:
        """Ship one record already in the ``logs.ingest`` shape."""
        if self._accepting():
            self._append(record)

    def _accepting(self) -> bool:
        if shipping_paused.get():
            return False
        # The shipper's own troubles (pika warnings) would feed themselves.
        return self._thread is None or threading.get_ident() != self._thread.ident

    def _append(self, record: dict[str, Any]) -> None:
        if len(self._buffer) >= self._capacity:
            self._dropped.inc()
            return
        self._buffer.append(record)
        self._ensure_thread()
        if len(self._buffer) >= self._batch_size:
            self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def _ensure_thread(self) -> None:
        # A forked child (gunicorn worker) inherits the object but not the thread.
        if self._owner_pid == current_pid():
            return
        with self._start_lock:
            if self._owner_pid == current_pid():
                return
            self._thread = threading.Thread(target=self._run, name="loom-log-shipper", daemon=True)
            self._thread.start()
            self._owner_pid = current_pid()
            atexit.register(self.close)

    def _run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            self._wakeup.wait(backoff or self._interval)
            self._wakeup.clear()
            backoff = (
                0.0 if self._ship_buffered() else min(max(backoff * 2, 0.5), _MAX_BACKOFF_SECONDS)
            )

    def _ship_buffered(self) -> bool:
        """Publish every full or due batch; False when the broker refused one."""
        while self._buffer:
            records = list(itertools.islice(self._buffer, 0, self._batch_size))
            try:
                self._publish(records)
            except Exception as error:
                logger.opt(exception=False).warning("log shipping paused: {}", error)
                return False
            for _ in records:
                self._buffer.popleft()
            self._shipped.inc(len(records))
            if len(self._buffer) < self._batch_size:
                return True
        return True

    def flush(self, timeout: float = 5.0) -> bool:
        """Ship what is buffered now; True if the buffer emptied within ``timeout``."""
        deadline = time.monotonic() + timeout
        while self._buffer and time.monotonic() < deadline:
            if (
                self._thread is None
                or not self._thread.is_alive()
                or self._owner_pid != current_pid()
            ):
                if not self._ship_buffered():
                    time.sleep(0.1)
                continue
            self._wakeup.set()
            time.sleep(0.02)
        return not self._buffer

    def close(self) -> None:
        self.flush(timeout=3.0)
        self._stopping.set()
        self._wakeup.set()
