"""Dramatiq actors of the worker: ``dramatiq loom_worker.actors --queues jobs``.

One actor per job in the registry, with that job's queue, retries and time limit. Senders
reach them by queue and actor name (loom_common.broker.send), never by import.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage, Retries
from pydantic import ValidationError

from loom_common.db import Database
from loom_common.runtime import init_process
from loom_worker.config import load_worker_config
from loom_worker.job_context import JobContext
from loom_worker.registry import JobSpec, known_jobs
from loom_worker.tracking import InvalidJobArguments, JobTracking, silence_discarded_result_warning

settings = init_process("worker")
config = load_worker_config()
database = Database.for_service(settings, "worker")
tracking = JobTracking(database)
dramatiq.get_broker().add_middleware(tracking, before=Retries)
silence_discarded_result_warning()


def _describe_invalid(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'args'}: {problem['msg']}"
        for problem in error.errors()
    )


def _declare(spec: JobSpec) -> dramatiq.Actor[Any, Any]:
    def run(**kwargs: Any) -> Any:
        message = CurrentMessage.get_current_message()
        assert message is not None  # CurrentMessage is one of loom's middleware
        try:
            arguments = spec.arguments.model_validate(kwargs)
        except ValidationError as error:
            raise InvalidJobArguments(_describe_invalid(error)) from None
        context = JobContext(message.message_id, settings, config, database, tracking.records)
        return spec.run(arguments, context)

    run.__name__ = run.__qualname__ = spec.name.replace(".", "_")
    options: dict[str, Any] = spec.options.actor_options()
    declare = dramatiq.actor(
        actor_name=spec.name,
        queue_name=spec.queue,
        **options,
        # Arguments that do not fit the job's model never will: no retries, straight to failed.
        throws=(InvalidJobArguments,),
    )
    return declare(run)


actors: dict[str, dramatiq.Actor[Any, Any]] = {
    name: _declare(spec) for name, spec in known_jobs().items()
}
greet = actors["greet"]
