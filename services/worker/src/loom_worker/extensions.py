"""Objects the worker's modules share: the API spec, and the settings of the current app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from loom_common.openapi import make_spec
from loom_common.settings import Settings
from loom_worker.worker_settings import WorkerSettings

spec = make_spec("worker")


@dataclass(frozen=True)
class AppSettings:
    settings: Settings
    worker: WorkerSettings


def worker_settings_of() -> AppSettings:
    """The settings the current app was made with."""
    app_settings: AppSettings = current_app.extensions["loom_worker_settings"]
    return app_settings
