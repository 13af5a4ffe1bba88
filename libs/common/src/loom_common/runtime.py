"""Start-up of a Loom process: settings, broker, logging and error capture, in that order."""

from __future__ import annotations

from typing import Any

from loom_common.broker import send, setup_broker
from loom_common.contracts import ERRORS_ACTOR, ERRORS_QUEUE, LOGS_ACTOR, LOGS_QUEUE
from loom_common.error_capture import init_error_capture
from loom_common.log_setup import configure_logging
from loom_common.settings import Settings, load_settings

_initialised: dict[str, Settings] = {}
# Logging and capture are process-wide: the service and settings they were last set up for.
_in_effect: tuple[str, Settings] | None = None


def publish_log_batch(records: list[dict[str, Any]]) -> None:
    send(LOGS_QUEUE, LOGS_ACTOR, records=records)


def publish_error_event(event: dict[str, Any]) -> None:
    send(ERRORS_QUEUE, ERRORS_ACTOR, event=event)


def init_process(service: str, settings: Settings | None = None) -> Settings:
    """Idempotent per process and settings: the gunicorn app factory and the dramatiq actors
    module both call it, and tests make many apps from the same settings. A second call with
    no settings, or with the settings already in effect, changes nothing; other settings (a
    test's own broker, capture switched off, another service) set logging and capture up again.

    The broker is made once per broker URL: actors stay bound to the broker that existed
    when their module was imported, so a second call must not replace it.
    """
    global _in_effect
    previous = _initialised.get(service)
    if previous is not None and settings is None:
        return previous
    settings = settings or load_settings(service)
    if _in_effect == (service, settings):
        return settings
    if previous is None or previous.broker_url != settings.broker_url:
        setup_broker(settings)
    configure_logging(settings, publish=publish_log_batch)
    init_error_capture(settings, publish=publish_error_event)
    _initialised[service] = settings
    _in_effect = (service, settings)
    return settings
