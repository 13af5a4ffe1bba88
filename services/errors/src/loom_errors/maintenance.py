"""``python -m loom_errors.maintenance``: the errors service's clock (a process in service.toml).

Every minute it sends the alert digests that are due (the consumer also does, but only while
events arrive); every hour it enforces the retention period. ``flask --app loom_errors.app
retention run`` does the retention part once, for cron.
"""

from __future__ import annotations

import threading

from loguru import logger

from loom_common.db import Database
from loom_common.runtime import init_process
from loom_errors.alerts.sending import send_due_digests
from loom_errors.config import load_errors_config
from loom_errors.issues.retention import enforce_retention

DIGEST_INTERVAL_S = 60.0
RETENTION_EVERY = 60  # digest rounds, so hourly


def run(stop: threading.Event) -> None:
    settings = init_process("errors")
    config = load_errors_config()
    database = Database.for_service(settings, "errors")
    rounds = 0
    while not stop.is_set():
        try:
            send_due_digests(database, settings, config)
            if rounds % RETENTION_EVERY == 0:
                deleted = enforce_retention(database, config)
                logger.info(
                    "retention: {} events, {} issues deleted", deleted.events, deleted.issues
                )
        except Exception:
            logger.exception("errors maintenance round failed; trying again next round")
        rounds += 1
        stop.wait(DIGEST_INTERVAL_S)
    database.dispose()


if __name__ == "__main__":
    run(threading.Event())
