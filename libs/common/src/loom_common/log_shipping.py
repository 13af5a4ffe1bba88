"""A loguru sink that ships records to the logs service in batches, never blocking the caller.

The caller only appends the record to a bounded in-memory buffer; a background thread
publishes batches of up to ``batch_size`` records at least every ``interval`` seconds.

When the broker refuses a batch and a spool folder is given, the thread writes that batch and
everything buffered after it to the spool on disk (see log_spool.py) and keeps doing so while
the broker is down, retrying it with backoff. Once the broker takes a batch again the spool is
replayed, oldest first, before the buffer, so records arrive in the order they were logged.
A batch that does not fit in the spool is dropped and counted (``reason="spool_full"``).

Without a spool (or with ``spool_max_bytes=0``) the batches wait in memory; what does not fit
in the buffer is dropped and counted (``reason="buffer_full"``).
"""

from __future__ import annotations

import atexit
import collections
import itertools
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from loguru import logger

from loom_common.log_records import record_to_dict
from loom_common.log_spool import LogSpool
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
        spool_dir: Path | None = None,
        spool_max_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.service = service
        self._publish = publish
        self._batch_size = batch_size
        self._interval = interval
        self._capacity = capacity
        self._spool_dir = spool_dir if spool_max_bytes > 0 else None
        self._spool_max_bytes = spool_max_bytes
        self._spool: LogSpool | None = None
        self._buffer: collections.deque[dict[str, Any]] = collections.deque()
        # A batch whose publish failed: the broker may have taken it all the same (its confirm
        # lost with the connection). It is sent again, or spooled, whole and unchanged, so
        # that a repeat is the same batch, which the logs service recognises and stores once.
        self._in_doubt: list[dict[str, Any]] | None = None
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner_pid = 0
        self._start_lock = threading.Lock()
        # Held while batches move (to the broker or the spool): the thread and flush() share it.
        self._work_lock = threading.Lock()
        self._broker_down = False
        self._backoff = 0.0
        self._retry_at = 0.0
        self._dropped = LOG_RECORDS_DROPPED.labels(service=service, reason="buffer_full")
        self._dropped_spool_full = LOG_RECORDS_DROPPED.labels(service=service, reason="spool_full")
        self._dropped_spool_error = LOG_RECORDS_DROPPED.labels(
            service=service, reason="spool_error"
        )
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
        if self.pending >= self._capacity:  # the batch in doubt counts: it is held in memory too
            self._dropped.inc()
            return
        self._buffer.append(record)
        self._ensure_thread()
        # Once per batch's worth, not on every record: a thread woken per record burns CPU.
        if len(self._buffer) % self._batch_size == 0:
            self._wakeup.set()

    @property
    def pending(self) -> int:
        """Records waiting in memory (the spool's are on disk: ``spooled_bytes``)."""
        return len(self._buffer) + len(self._in_doubt or ())

    @property
    def spooled_bytes(self) -> int:
        spool = self._spool
        return spool.total_bytes if spool is not None and spool.pid == current_pid() else 0

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
        while not self._stopping.is_set():
            wait = self._interval
            if self._broker_down:
                wait = min(self._interval, max(self._retry_at - time.monotonic(), 0.0))
            self._wakeup.wait(wait)
            self._wakeup.clear()
            with self._work_lock:
                try:
                    self._ship_or_spool()
                except Exception as error:
                    # The thread must outlive any surprise (a spool file gone, a broker client
                    # in a bad state), or this process's lines would stop for good: retry later.
                    self._round_failed(error)

    def _current_spool(self) -> LogSpool | None:
        """This process's spool, opened on first use (adopting files of dead processes)."""
        if self._spool_dir is None:
            return None
        if self._spool is None or self._spool.pid != current_pid():
            try:
                self._spool = LogSpool(self._spool_dir, self.service, self._spool_max_bytes)
            except OSError as error:
                logger.opt(exception=False).warning("log spool unavailable: {}", error)
                self._spool_dir = None
                return None
        return self._spool

    def _ship_or_spool(self) -> None:
        """One round of the thread: publish (spool first, then buffer), or while the broker is
        known to be down and its retry is not due, move the buffer to the spool."""
        spool = self._current_spool()
        if self._broker_down and time.monotonic() < self._retry_at:
            self._spool_buffered(spool)
            return
        if self._replay(spool) and self._ship_buffered():
            if self._broker_down:
                logger.info("log shipping resumed")
            self._broker_down, self._backoff = False, 0.0
            return
        if not self._broker_down:
            logger.warning(
                "log shipping paused, {}",
                "spooling to disk" if spool is not None else "buffering in memory",
            )
        self._back_off()
        self._spool_buffered(spool)

    def _round_failed(self, error: Exception) -> None:
        logger.opt(exception=error).error("log shipping round failed, retrying: {}", error)
        self._back_off()

    def _back_off(self) -> None:
        """Treat the broker as down; the next try waits twice as long as the last, up to a cap."""
        self._broker_down = True
        self._backoff = min(max(self._backoff * 2, 0.5), _MAX_BACKOFF_SECONDS)
        self._retry_at = time.monotonic() + self._backoff

    def _publish_batch(self, records: list[dict[str, Any]]) -> bool:
        try:
            self._publish(records)
        except Exception as error:
            if not self._broker_down:
                logger.opt(exception=False).info("log batch refused: {}", error)
            return False
        self._shipped.inc(len(records))
        return True

    def _replay(self, spool: LogSpool | None) -> bool:
        """Publish the spooled batches, oldest first; False when the broker refused one."""
        if spool is None:
            return True
        while (batch := spool.peek()) is not None:
            if not self._publish_batch(batch):
                return False
            spool.pop()
            # A long replay must not let the buffer overflow: newer records queue up behind.
            if len(self._buffer) >= self._capacity // 2:
                self._spool_buffered(spool)
        return True

    def _ship_buffered(self) -> bool:
        """Publish the batch in doubt, then every full or due batch; False when the broker
        refused one."""
        while self._in_doubt is not None or self._buffer:
            if self._in_doubt is None:
                count = min(self._batch_size, len(self._buffer))
                self._in_doubt = [self._buffer.popleft() for _ in range(count)]
            if not self._publish_batch(self._in_doubt):
                return False
            self._in_doubt = None
            if len(self._buffer) < self._batch_size:
                return True
        return True

    def _spool_buffered(self, spool: LogSpool | None) -> None:
        """Move everything buffered to the spool, in batches; what does not fit is dropped."""
        if spool is None:
            return
        if self._in_doubt is not None:
            self._spool_batch(spool, self._in_doubt)
            self._in_doubt = None
        while self._buffer:
            records = list(itertools.islice(self._buffer, 0, self._batch_size))
            self._spool_batch(spool, records)
            for _ in records:
                self._buffer.popleft()

    def _spool_batch(self, spool: LogSpool, records: list[dict[str, Any]]) -> None:
        """One batch to the spool as one line (replayed as it was); what does not fit is dropped."""
        try:
            if not spool.append(records):
                self._dropped_spool_full.inc(len(records))
        except OSError as error:
            logger.opt(exception=False).warning("log spool write failed: {}", error)
            self._dropped_spool_error.inc(len(records))

    def flush(self, timeout: float = 5.0) -> bool:
        """Ship what is buffered or spooled now; True if all of it reached the broker within
        ``timeout``."""
        deadline = time.monotonic() + timeout
        while self._unsent() and time.monotonic() < deadline:
            if (
                self._thread is None
                or not self._thread.is_alive()
                or self._owner_pid != current_pid()
            ):
                with self._work_lock:
                    self._broker_down = False  # try now, whatever the backoff said
                    self._ship_or_spool()
                if self._unsent():
                    time.sleep(0.1)
                continue
            self._wakeup.set()
            time.sleep(0.02)
        return not self._unsent()

    def _unsent(self) -> bool:
        if self._buffer or self._in_doubt is not None:
            return True
        spool = self._spool
        return spool is not None and spool.pid == current_pid() and spool.has_backlog

    def close(self) -> None:
        """Ship what can be shipped; what cannot goes to the spool for the next run."""
        if not self._broker_down:  # known down: spool at once rather than hold the exit
            self.flush(timeout=3.0)
        self._stopping.set()
        self._wakeup.set()
        if self._work_lock.acquire(timeout=5.0):
            try:
                spool = self._current_spool() if self._unsent() else self._spool
                self._spool_buffered(spool)
                if spool is not None and spool.pid == current_pid():
                    spool.close()
            finally:
                self._work_lock.release()
