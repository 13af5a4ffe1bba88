"""The gunicorn configuration of every Loom HTTP process:
``gunicorn -c python:loom_common.gunicorn_conf 'loom_<service>.app:create_app()'``.

``LOOM_SERVICE`` names the service; its port, workers and threads come from the settings,
which are checked here, in the master, so a bad value stops gunicorn before it forks.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from loom_common.log_setup import InterceptHandler, configure_logging
from loom_common.settings import load_settings

_settings = load_settings(os.environ.get("LOOM_SERVICE"))
_service = _settings.service or "web"
configure_logging(_settings)  # the master logs without shipping; each worker ships its own

# Every process of the service (gunicorn workers and dramatiq) writes its metrics here.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str((_settings.var_dir / "metrics" / _service).resolve())
)
Path(_metrics_dir).mkdir(parents=True, exist_ok=True)

bind = os.environ.get("LOOM_BIND", f"{_settings.host}:{_settings.port(_service)}")
workers = _settings.http_workers
threads = _settings.http_threads
worker_class = os.environ.get("LOOM_WORKER_CLASS", "gthread")
timeout = 30
graceful_timeout = 20
keepalive = 5
proc_name = f"loom-{_service}"
# One control socket per service (gunicornc), instead of one shared path for all of them.
control_socket = str((_settings.var_dir / f"gunicorn-{_service}.ctl").resolve())
accesslog = None  # one access record per request comes from loom_common.request_ids


class LoguruLogger(Logger):
    """gunicorn's own messages go through loguru like everything else."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for stdlib_logger in (self.error_log, self.access_log):
            stdlib_logger.handlers = [InterceptHandler()]
            stdlib_logger.propagate = False


logger_class = LoguruLogger


def child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_starting(_server: Any) -> None:
    logging.getLogger("gunicorn.error").info("loom-%s listening on %s", _service, bind)
