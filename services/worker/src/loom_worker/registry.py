"""The jobs the worker knows: name, argument model, queue, retries and time limit.

Job modules (loom_worker.jobs.*) declare themselves with :func:`job`; the actors module turns
each into a Dramatiq actor and the API validates ``POST /api/jobs`` against the same model.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from loom_common.contracts import JOBS_QUEUE

if TYPE_CHECKING:
    from loom_worker.job_context import JobContext

JobFunction = Callable[[Any, "JobContext"], Any]
F = TypeVar("F", bound=JobFunction)

MINUTE_MS = 60 * 1000


@dataclass(frozen=True)
class JobSpec:
    name: str
    arguments: type[BaseModel]
    run: JobFunction
    queue: str = JOBS_QUEUE
    max_retries: int = 5
    time_limit_ms: int = 10 * MINUTE_MS
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 5 * MINUTE_MS
    produces_file: bool = False


_registry: dict[str, JobSpec] = {}


def job(
    name: str,
    arguments: type[BaseModel],
    *,
    queue: str = JOBS_QUEUE,
    max_retries: int = 5,
    time_limit_ms: int = 10 * MINUTE_MS,
    min_backoff_ms: int = 1_000,
    max_backoff_ms: int = 5 * MINUTE_MS,
    produces_file: bool = False,
) -> Callable[[F], F]:
    """Declare a job: ``run(arguments, context)`` gets a validated ``arguments`` model."""

    def register(run: F) -> F:
        if name in _registry:
            raise ValueError(f"job {name!r} is declared twice")
        _registry[name] = JobSpec(
            name=name,
            arguments=arguments,
            run=run,
            queue=queue,
            max_retries=max_retries,
            time_limit_ms=time_limit_ms,
            min_backoff_ms=min_backoff_ms,
            max_backoff_ms=max_backoff_ms,
            produces_file=produces_file,
        )
        return run

    return register


def known_jobs() -> dict[str, JobSpec]:
    """Every declared job, by name (importing the job modules declares them)."""
    importlib.import_module("loom_worker.jobs")
    return _registry


def job_spec(name: str) -> JobSpec | None:
    return known_jobs().get(name)


def job_queues() -> set[str]:
    return {spec.queue for spec in known_jobs().values()}
