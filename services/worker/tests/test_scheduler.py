"""Schedules: cron expressions from configuration; two schedulers never fire a job twice."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from loom_common.contracts import JOBS_QUEUE
from loom_common.db import Database
from loom_common.migrations import upgrade
from loom_common.settings import SettingsError
from loom_common.testing import temporary_postgres_database, wait_until
from loom_worker.config import WorkerConfig, load_worker_config
from loom_worker.metrics import SCHEDULE_FIRES
from loom_worker.models import Job, ScheduleFire
from loom_worker.scheduler import Scheduler


@pytest.fixture
def postgres() -> Iterator[Database]:
    with temporary_postgres_database() as url:
        upgrade("worker", url)
        database = Database(url)
        yield database
        database.dispose()


def fired(database: Database) -> list[ScheduleFire]:
    with database.session() as session:
        return list(session.scalars(select(ScheduleFire).order_by(ScheduleFire.fire_time)))


def test_two_schedulers_fire_each_second_once(
    actors: Any, postgres: Database, drain_queue: Callable[[str], list[dict[str, Any]]]
) -> None:
    every_second = WorkerConfig(
        schedules={"tick": {"job": "greet", "cron": "* * * * * *", "args": {"name": "tick"}}}
    )
    taken_before = SCHEDULE_FIRES.labels("tick", "taken")._value.get()
    # Two schedulers, each with its own connection pool, as two hosts would have.
    schedulers = [Scheduler(Database(postgres.url), every_second) for _ in range(2)]
    threads = [threading.Thread(target=s.run) for s in schedulers]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(fired(postgres)) >= 4, timeout=15)
    finally:
        for scheduler in schedulers:
            scheduler.stop()
        for thread in threads:
            thread.join(timeout=10)

    fires = fired(postgres)
    sent = [m for m in drain_queue(JOBS_QUEUE) if m["kwargs"] == {"name": "tick"}]
    assert sorted(m["message_id"] for m in sent) == sorted(f.job_id for f in fires)
    assert len({f.fire_time for f in fires}) == len(fires)
    assert SCHEDULE_FIRES.labels("tick", "taken")._value.get() > taken_before, (
        "the second scheduler tried too, and stood back"
    )
    with postgres.session() as session:
        queued = session.scalar(select(func.count()).select_from(Job).where(Job.status == "queued"))
    assert queued == len(fires), "each fire has its job record"


def test_default_schedules_are_the_digest_at_seven_and_an_hourly_cleanup() -> None:
    schedules = load_worker_config().schedules
    assert {name: (s.job, s.cron) for name, s in schedules.items()} == {
        "daily-digest": ("digest.daily", "0 7 * * *"),
        "hourly-cleanup": ("maintenance.cleanup", "0 * * * *"),
    }


def test_schedules_come_from_the_environment_and_a_bad_one_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "LOOM_WORKER_SCHEDULES", '{"often": {"job": "greet", "cron": "*/5 * * * *"}}'
    )
    assert load_worker_config().schedules["often"].cron == "*/5 * * * *"

    monkeypatch.setenv("LOOM_WORKER_SCHEDULES", '{"bad": {"job": "greet", "cron": "every day"}}')
    with pytest.raises(SettingsError, match=r"LOOM_WORKER_SCHEDULES.*not a cron expression"):
        load_worker_config()


def test_a_schedule_of_an_unknown_job_stops_the_scheduler_at_start(postgres: Database) -> None:
    settings = WorkerConfig(schedules={"typo": {"job": "digest.dialy", "cron": "0 7 * * *"}})
    with pytest.raises(SettingsError, match=r"no job 'digest\.dialy'"):
        Scheduler(postgres, settings).run()
