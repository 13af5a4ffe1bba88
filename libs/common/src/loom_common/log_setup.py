"""Loguru, configured once per process: stdout (human in dev, JSON lines elsewhere),
the stdlib loggers routed into it, and the shipper to the logs service.

Every record is scrubbed (loom_common.scrubbing) before any sink sees it, so what reaches
stdout and the logs service alike has its secrets hidden: the message and the bound fields
in the patcher, the exception text where it is formatted (log_records.py).
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from loguru import logger

from loom_common.log_records import HOSTNAME, LEVEL_NUMBERS, record_to_dict
from loom_common.log_shipping import LogShipper, PublishBatch
from loom_common.process import current_pid
from loom_common.request_context import request_id_var
from loom_common.scrubbing import scrub_fields, scrub_text
from loom_common.settings import Settings

# Third-party loggers and the level they are worth at.
_STDLIB_LEVELS = {
    "gunicorn.error": logging.INFO,
    "gunicorn.access": logging.WARNING,
    "dramatiq": logging.INFO,
    # pika logs every failed connection attempt several times over; dramatiq, readiness
    # and the shipper already report the broker being down, once each.
    "pika": logging.CRITICAL,
    "sqlalchemy": logging.WARNING,
    "alembic": logging.INFO,
    "werkzeug": logging.WARNING,
    "urllib3": logging.WARNING,
}

_state: dict[str, Any] = {"pid": None, "shipper": None, "json_lines": None}


class InterceptHandler(logging.Handler):
    """Send stdlib ``logging`` records to loguru, keeping the caller's logger name."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.patch(lambda r: r.update({"name": record.name})).opt(
            depth=depth, exception=record.exc_info
        ).log(level, record.getMessage())


def _prepare_record(record: Any) -> None:
    """loguru's patcher: runs once per record, before every sink."""
    # Messages third parties format themselves carry what they were given: Dramatiq's
    # "Failed to process message send_reset(reset_token_url='...')" quotes a job's arguments.
    record["message"] = scrub_text(record["message"])
    record["extra"] = scrub_fields(record["extra"])
    if record["extra"].get("request_id") is None:
        record["extra"]["request_id"] = request_id_var.get()


def _human_format(record: Any) -> str:
    request_id = (record["extra"].get("request_id") or "-")[:12]
    return (
        "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
        f"<cyan>{{extra[service]}}</cyan> {request_id} "
        "<level>{message}</level> <dim>({name}:{line})</dim>\n{exception}"
    )


class JsonLines:
    """The loguru sink outside dev: one JSON object per line on stdout, and the same dict
    handed to the shipper, so a record is converted once for both. (No ``write`` method:
    loguru would take the object for a text stream.)"""

    def __init__(self, shipper: LogShipper | None) -> None:
        self.shipper = shipper
        # The process's real stdout: dramatiq swaps sys.stdout for a pipe in its workers.
        self._fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        self._lock = threading.Lock()

    def __call__(self, message: Any) -> None:
        self.emit(record_to_dict(message.record))

    def emit(self, record: dict[str, Any]) -> None:
        line = memoryview(orjson.dumps(record, default=str) + b"\n")
        # One system call per line, no Python buffer to flush; the lock keeps long lines
        # of concurrent threads from interleaving.
        with self._lock:
            while line:
                line = line[os.write(self._fd, line) :]
        if self.shipper is not None:
            self.shipper.put(record)


def route_stdlib_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(handlers=[InterceptHandler()], level=level, force=True)
    for name, logger_level in _STDLIB_LEVELS.items():
        stdlib_logger = logging.getLogger(name)
        stdlib_logger.handlers = []
        stdlib_logger.propagate = True
        stdlib_logger.setLevel(logger_level)


def configure_logging(settings: Settings, publish: PublishBatch | None = None) -> LogShipper | None:
    """Set up loguru for this process; ``publish`` (when given) ships records to the logs queue.

    Safe to call more than once: only the first call in a process does the work.
    """
    if _state["pid"] == current_pid():
        return _state["shipper"]
    service = settings.service or "loom"
    logger.remove()
    logger.configure(
        extra={"service": service, "env": settings.env, "request_id": None},
        patcher=_prepare_record,
    )
    shipper = None
    if publish is not None and settings.ship_logs:
        shipper = LogShipper(
            service,
            publish,
            batch_size=settings.log_ship_batch_size,
            interval=settings.log_ship_interval,
            capacity=settings.log_ship_buffer,
            spool_dir=settings.spool_dir,
            spool_max_bytes=settings.log_spool_max_bytes,
        )
    json_lines = None
    if settings.json_logs:
        json_lines = JsonLines(shipper)
        logger.add(json_lines, level=settings.log_level, format="{message}", catch=True)
    else:
        logger.add(sys.stdout, level=settings.log_level, format=_human_format, colorize=None)
        if shipper is not None:
            logger.add(shipper, level=settings.log_level, format="{message}", catch=True)
    route_stdlib_logging()
    _state.update(
        pid=current_pid(),
        shipper=shipper,
        json_lines=json_lines,
        service=service,
        env=settings.env,
        min_level=logger.level(settings.log_level).no,
    )
    return shipper


def current_shipper() -> LogShipper | None:
    return _state["shipper"]


def log_structured(
    level: str,
    message: Callable[[], str],
    logger_name: str,
    fields: Callable[[], dict[str, Any]],
) -> None:
    """Log one record with structured fields, for lines written on every request.

    ``message`` and ``fields`` are built only when the level is enabled. With JSON output the
    record is built directly in the shape of ``record_to_dict``: loguru's per-call work
    (frame lookup, per-handler formatting) costs more than serving a small request. With
    human output (dev) it goes through loguru like any other line.
    """
    if LEVEL_NUMBERS.get(level, 0) < _state.get("min_level", 0):
        return
    json_lines: JsonLines | None = _state["json_lines"]
    if json_lines is None or _state["pid"] != current_pid():
        # bind, not keyword arguments: a message holding braces must not be formatted
        logger.patch(lambda r: r.update({"name": logger_name})).bind(**fields()).log(
            level, message()
        )
        return
    json_lines.emit(
        {
            "time": datetime.now(UTC).isoformat(),
            "level": level,
            "message": scrub_text(message()),
            "service": _state["service"],
            "env": _state["env"],
            "host": HOSTNAME,
            "logger": logger_name,
            "function": None,
            "line": None,
            "process": current_pid(),
            "thread": threading.current_thread().name,
            "request_id": request_id_var.get(),
            "exception": None,
            "fields": scrub_fields(fields()),
        }
    )
