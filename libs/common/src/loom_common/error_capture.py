"""Uncaught exceptions become Sentry-schema events published to the ``errors`` queue.

sentry-sdk builds the events (exception chain, frames with ``in_app``); loom_common.scrubbing
scrubs each one before it leaves the process, as the errors service does again before storing;
flask_capture.py and middleware/error_capture.py decide when; capture_limits.py bounds how
many one process sends; :class:`BrokerTransport` replaces its HTTP transport and publishes
from a background thread, so capture never raises into the caller nor waits on the network.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import sentry_sdk
from loguru import logger
from sentry_sdk.integrations.dedupe import DedupeIntegration
from sentry_sdk.integrations.excepthook import ExcepthookIntegration
from sentry_sdk.transport import Transport
from sentry_sdk.types import Event

from loom_common.capture_limits import CaptureLimiter
from loom_common.metrics import ERROR_EVENTS_DROPPED, ERROR_EVENTS_SENT
from loom_common.process import current_pid
from loom_common.request_context import request_id_var
from loom_common.scrubbing import scrub_event
from loom_common.settings import Settings

PublishEvent = Callable[[dict[str, Any]], None]

LOOM_PACKAGES = ["loom_common", "loom_web", "loom_worker", "loom_errors", "loom_logs"]
_MAX_BACKOFF_SECONDS = 10.0


class BrokerTransport(Transport):
    """A sentry-sdk transport that publishes each event with ``publish`` from its own thread."""

    def __init__(self, service: str, publish: PublishEvent, capacity: int = 1000) -> None:
        super().__init__()
        self.service = service
        self._publish = publish
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=capacity)
        self._owner_pid = 0
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._sent = ERROR_EVENTS_SENT.labels(service=service)
        self._dropped = ERROR_EVENTS_DROPPED.labels(service=service, reason="buffer_full")

    def capture_envelope(self, envelope: Any) -> None:
        event = envelope.get_event()
        if event is None:
            return  # sessions and client reports: nothing for the errors queue
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._dropped.inc()
            return
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        if self._owner_pid == current_pid():
            return
        with self._start_lock:
            if self._owner_pid != current_pid():
                self._thread = threading.Thread(
                    target=self._run, name="loom-error-sender", daemon=True
                )
                self._thread.start()
                self._owner_pid = current_pid()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                event = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self._publish_until_sent(event)
            self._queue.task_done()

    def _publish_until_sent(self, event: dict[str, Any]) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                self._publish(event)
                self._sent.inc()
                return
            except Exception as error:
                logger.warning(
                    "error event {} waits for the broker: {}", event.get("event_id"), error
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)

    def flush(self, timeout: float, callback: Any = None) -> None:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def kill(self) -> None:
        self._stopping.set()


def _tag_and_scrub(event: Event) -> Event:
    """Tag the request id, and scrub: form fields, free text and URLs too (sentry-sdk's own
    scrubber only knows its key names, and misses ``confirm`` or a token in a message)."""
    request_id = request_id_var.get()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    scrubbed: Event = scrub_event(event)
    return scrubbed


def _before_send(service: str, limiter: CaptureLimiter) -> Callable[[Event, Any], Event | None]:
    """Drop (and count) what the limiter refuses, then tag the request id and scrub."""

    def before_send(event: Event, hint: Any) -> Event | None:
        refusal = limiter.refusal(dict(event))
        if refusal is not None:
            ERROR_EVENTS_DROPPED.labels(service=service, reason=refusal).inc()
            return None
        return _tag_and_scrub(event)

    return before_send


def init_error_capture(settings: Settings, publish: PublishEvent) -> BrokerTransport | None:
    """Start capturing for this process; a no-op when ``LOOM_CAPTURE_ERRORS`` is off."""
    if not settings.capture_errors:
        return None
    service = settings.service or "loom"
    transport = BrokerTransport(service, publish, capacity=settings.error_buffer)
    limiter = CaptureLimiter(
        burst=settings.error_burst,
        rate=settings.error_rate,
        repeat_burst=settings.error_repeat_burst,
        repeat_rate=settings.error_repeats_per_minute / 60,
    )
    sentry_sdk.init(
        transport=transport,
        environment=settings.env,
        release=settings.release,
        server_name=service,
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[DedupeIntegration(), ExcepthookIntegration()],
        in_app_include=LOOM_PACKAGES,
        before_send=_before_send(service, limiter),
        traces_sample_rate=None,
    )
    sentry_sdk.get_global_scope().set_tag("service", service)
    return transport
