"""Loguru, configured once per process: stdout (human in dev, JSON lines elsewhere),
the stdlib loggers routed into it, and the shipper to the logs service."""

from __future__ import annotations

import inspect
import logging
import os
import sys
from typing import Any

import orjson
from loguru import logger

from loom_common.log_records import record_to_dict
from loom_common.log_shipping import LogShipper, PublishBatch
from loom_common.request_context import request_id_var
from loom_common.settings import Settings

# Third-party loggers and the level they are worth at.
_STDLIB_LEVELS = {
    "gunicorn.error": logging.INFO,
    "gunicorn.access": logging.WARNING,
    "dramatiq": logging.INFO,
    "pika": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "alembic": logging.INFO,
    "werkzeug": logging.WARNING,
    "urllib3": logging.WARNING,
}

_state: dict[str, Any] = {"pid": None, "shipper": None}


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


def _add_request_id(record: Any) -> None:
    if record["extra"].get("request_id") is None:
        record["extra"]["request_id"] = request_id_var.get()


def _human_format(record: Any) -> str:
    request_id = (record["extra"].get("request_id") or "-")[:12]
    return (
        "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
        f"<cyan>{{extra[service]}}</cyan> {request_id} "
        "<level>{message}</level> <dim>({name}:{line})</dim>\n{exception}"
    )


def _write_json_line(message: Any) -> None:
    line = orjson.dumps(record_to_dict(message.record), default=str) + b"\n"
    stdout = sys.stdout
    # dramatiq replaces sys.stdout in its workers by a text-only pipe without .buffer
    binary = getattr(stdout, "buffer", None)
    if binary is not None:
        binary.write(line)
    else:
        stdout.write(line.decode())
    stdout.flush()


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
    if _state["pid"] == os.getpid():
        return _state["shipper"]
    service = settings.service or "loom"
    logger.remove()
    logger.configure(
        extra={"service": service, "env": settings.env, "request_id": None},
        patcher=_add_request_id,
    )
    if settings.json_logs:
        logger.add(_write_json_line, level=settings.log_level, format="{message}")
    else:
        logger.add(sys.stdout, level=settings.log_level, format=_human_format, colorize=None)
    route_stdlib_logging()

    shipper = None
    if publish is not None and settings.ship_logs:
        shipper = LogShipper(
            service,
            publish,
            batch_size=settings.log_ship_batch_size,
            interval=settings.log_ship_interval,
            capacity=settings.log_ship_buffer,
        )
        logger.add(shipper, level=settings.log_level, format="{message}", catch=True)
    _state.update(pid=os.getpid(), shipper=shipper)
    return shipper


def current_shipper() -> LogShipper | None:
    return _state["shipper"]
