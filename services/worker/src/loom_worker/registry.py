"""The jobs the worker knows: name, argument model, queue, retries and time limit.

Job modules (loom_worker.jobs.*) declare themselves with :func:`job`; the actors module turns
each into a Dramatiq actor and the API validates ``POST /api/jobs`` against the same model.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from loom_common.contracts import JOBS_QUEUE
from loom_common.job_options import JobOptions

if TYPE_CHECKING:
    from loom_worker.job_context import JobContext

JobFunction = Callable[[Any, "JobContext"], Any]
F = TypeVar("F", bound=JobFunction)


@dataclass(frozen=True)
class JobSpec:
    name: str
    arguments: type[BaseModel]
    run: JobFunction
    queue: str = JOBS_QUEUE
    # Only what the job sets: the rest is the message's or the house default's to say.
    options: JobOptions = field(default_factory=JobOptions)
    produces_file: bool = False


_registry: dict[str, JobSpec] = {}


def job(
    name: str,
    arguments: type[BaseModel],
    *,
    queue: str = JOBS_QUEUE,
    max_retries: int | None = None,
    time_limit_ms: int | None = None,
    min_backoff_ms: int | None = None,
    max_backoff_ms: int | None = None,
    produces_file: bool = False,
) -> Callable[[F], F]:
    """Declare a job: ``run(arguments, context)`` gets a validated ``arguments`` model.

    Retries, backoff and time limit left out take loom_common.job_options.DEFAULTS (unless
    the message sets them).
    """

    def register(run: F) -> F:
        if name in _registry:
            raise ValueError(f"job {name!r} is declared twice")
        _registry[name] = JobSpec(
            name=name,
            arguments=arguments,
            run=run,
            queue=queue,
            options=JobOptions(
                max_retries=max_retries,
                min_backoff_ms=min_backoff_ms,
                max_backoff_ms=max_backoff_ms,
                time_limit_ms=time_limit_ms,
            ),
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
