"""Dramatiq actors of the worker: ``dramatiq loom_worker.actors --queues jobs``.

Senders reach them by queue and actor name (loom_common.broker.send), never by import.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.middleware import Retries

from loom_common.contracts import JOBS_QUEUE
from loom_common.db import Database
from loom_common.runtime import init_process
from loom_worker import jobs
from loom_worker.tracking import JobTracking, silence_discarded_result_warning

settings = init_process("worker")
database = Database(settings.database_url("worker"))
dramatiq.get_broker().add_middleware(JobTracking(database), before=Retries)
silence_discarded_result_warning()


@dramatiq.actor(actor_name="greet", queue_name=JOBS_QUEUE, max_retries=3)
def greet(name: str) -> dict[str, Any]:
    return jobs.greet(name)
