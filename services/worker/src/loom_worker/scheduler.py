"""The scheduler process: ``python -m loom_worker.scheduler`` sends each scheduled job when its
cron expression comes due (``LOOM_WORKER_SCHEDULES``).

Several schedulers may run (one per host, for availability): a row per (schedule, fire time)
is inserted before sending, in the same transaction as the job's record, and only the one
whose insert succeeds sends. Fire times missed while no scheduler ran are not caught up.
"""

from __future__ import annotations

import signal
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq
from croniter import croniter
from loguru import logger
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from loom_common.db import Database
from loom_common.runtime import init_process
from loom_common.settings import SettingsError
from loom_worker.config import Schedule, WorkerConfig, load_worker_config
from loom_worker.enqueue import build_message, new_job_record
from loom_worker.metrics import SCHEDULE_FIRES
from loom_worker.models import Job, ScheduleFire
from loom_worker.registry import JobSpec, job_spec

_NAMESPACE = uuid.UUID("6c1f7f0e-5c1e-4a43-9d59-3c1bb0c8a0d2")
SEND_ATTEMPTS = 6
MAX_SLEEP_SECONDS = 1.0


@dataclass
class Planned:
    name: str
    spec: JobSpec
    arguments: BaseModel
    cron: croniter
    next_fire: datetime


def fire_job_id(name: str, fire_time: datetime) -> str:
    """The same id in every scheduler for one fire time of one schedule."""
    return str(uuid.uuid5(_NAMESPACE, f"{name}@{fire_time.astimezone(UTC).isoformat()}"))


def plan(schedules: dict[str, Schedule], now: datetime, timezone: Any) -> list[Planned]:
    """Check every schedule against the registry; a wrong one stops the process at start."""
    planned = []
    for name, schedule in schedules.items():
        spec = job_spec(schedule.job)
        if spec is None:
            raise SettingsError(
                f"invalid setting LOOM_WORKER_SCHEDULES: {name}: no job {schedule.job!r}"
            )
        try:
            arguments = spec.arguments.model_validate(schedule.args)
        except ValidationError as error:
            raise SettingsError(
                f"invalid setting LOOM_WORKER_SCHEDULES: {name}: {error.errors()[0]['msg']}"
            ) from None
        cron = croniter(schedule.cron, now.astimezone(timezone))
        planned.append(Planned(name, spec, arguments, cron, cron.get_next(datetime)))
    return planned


class Scheduler:
    def __init__(self, database: Database, config: WorkerConfig) -> None:
        self.database = database
        self.timezone = config.timezone
        self.schedules = config.schedules
        self.stopping = threading.Event()

    def run(self) -> None:
        planned = plan(self.schedules, datetime.now(UTC), self.timezone)
        logger.info(
            "scheduler running {} schedules: {}", len(planned), ", ".join(p.name for p in planned)
        )
        while not self.stopping.is_set():
            now = datetime.now(UTC)
            for item in planned:
                if item.next_fire <= now:
                    self.fire(item.name, item.spec, item.arguments, item.next_fire)
                    # No catching up: the next fire time after now.
                    item.cron.set_current(now.astimezone(self.timezone), force=True)
                    item.next_fire = item.cron.get_next(datetime)
            wake = min((item.next_fire for item in planned), default=None)
            delay = (wake - datetime.now(UTC)).total_seconds() if wake else MAX_SLEEP_SECONDS
            self.stopping.wait(min(max(delay, 0.0), MAX_SLEEP_SECONDS))

    def stop(self) -> None:
        self.stopping.set()

    def fire(self, name: str, spec: JobSpec, arguments: BaseModel, fire_time: datetime) -> bool:
        """True if this scheduler sent the job, False if another one had it (or sending failed)."""
        payload = arguments.model_dump(mode="json")
        message = build_message(spec, payload, job_id=fire_job_id(name, fire_time))
        try:
            with self.database.session() as session:
                session.add(
                    ScheduleFire(schedule=name, fire_time=fire_time, job_id=message.message_id)
                )
                session.flush()  # the fire row first: it is the lock
                session.add(new_job_record(spec, message, payload))
        except IntegrityError:
            SCHEDULE_FIRES.labels(name, "taken").inc()
            logger.debug("schedule {} at {} already fired elsewhere", name, fire_time)
            return False
        if self._send(message):
            SCHEDULE_FIRES.labels(name, "sent").inc()
            logger.info("schedule {} fired job {} ({})", name, message.message_id, spec.name)
            return True
        self._forget(name, fire_time, message.message_id)
        SCHEDULE_FIRES.labels(name, "send_failed").inc()
        logger.error("schedule {} at {}: the broker refused the job; skipped", name, fire_time)
        return False

    def _send(self, message: Any) -> bool:
        backoff = 0.5
        for _ in range(SEND_ATTEMPTS):
            try:
                dramatiq.get_broker().enqueue(message)
                return True
            except Exception as error:
                logger.warning("scheduler: broker unavailable ({}), retrying", type(error).__name__)
                if self.stopping.wait(backoff):
                    return False
                backoff *= 2
        return False

    def _forget(self, name: str, fire_time: datetime, job_id: str) -> None:
        with self.database.session() as session:
            fire = session.get(ScheduleFire, (name, fire_time))
            if fire is not None:
                session.delete(fire)
            job = session.get(Job, job_id)
            if job is not None:
                session.delete(job)


def main() -> None:
    settings = init_process("worker")
    scheduler = Scheduler(Database.for_service(settings, "worker"), load_worker_config())
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: scheduler.stop())
    scheduler.run()
    logger.info("scheduler stopped")


if __name__ == "__main__":
    main()
