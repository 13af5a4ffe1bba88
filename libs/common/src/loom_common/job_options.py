"""A job's retries, backoff and time limit: the house defaults, written once.

Dramatiq's Retries and TimeLimit middleware take each option from the message, else from the
actor, else from the middleware's own default. Loom gives the middleware the defaults below
(the ``DEFAULT_*`` values, in :func:`loom_common.broker.loom_middleware`) and gives an actor only the options its job sets,
so the same order decides everywhere: message, then actor, then :data:`DEFAULTS`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MINUTE_MS = 60 * 1000
DEFAULT_MAX_RETRIES = 5
DEFAULT_MIN_BACKOFF_MS = 1_000
DEFAULT_MAX_BACKOFF_MS = 5 * MINUTE_MS
DEFAULT_TIME_LIMIT_MS = 10 * MINUTE_MS

# Our names (with their unit) -> Dramatiq's option names.
_DRAMATIQ_NAMES = {
    "max_retries": "max_retries",
    "min_backoff_ms": "min_backoff",
    "max_backoff_ms": "max_backoff",
    "time_limit_ms": "time_limit",
}


@dataclass(frozen=True)
class JobOptions:
    """Options a job may set; ``None`` leaves the decision to the message or the default."""

    max_retries: int | None = None
    min_backoff_ms: int | None = None
    max_backoff_ms: int | None = None
    time_limit_ms: int | None = None

    def actor_options(self) -> dict[str, int]:
        """The options set, under Dramatiq's names, for ``dramatiq.actor(**...)``."""
        return {
            _DRAMATIQ_NAMES[name]: value
            for name, value in asdict(self).items()
            if value is not None
        }


DEFAULTS = JobOptions(
    max_retries=DEFAULT_MAX_RETRIES,
    min_backoff_ms=DEFAULT_MIN_BACKOFF_MS,
    max_backoff_ms=DEFAULT_MAX_BACKOFF_MS,
    time_limit_ms=DEFAULT_TIME_LIMIT_MS,
)


def effective_options(message: Any, actor: Any) -> JobOptions:
    """What Retries and TimeLimit will use for ``message`` of ``actor``: message, actor, default.

    A message's ``max_retries=0`` counts (no retry), as in Dramatiq's Retries; a message's
    ``time_limit=0`` does not (TimeLimit reads it with ``or``).
    """
    chosen = {
        name: message.options.get(option, actor.options.get(option, getattr(DEFAULTS, name)))
        for name, option in _DRAMATIQ_NAMES.items()
    }
    chosen["time_limit_ms"] = message.options.get("time_limit") or actor.options.get(
        "time_limit", DEFAULTS.time_limit_ms
    )
    return JobOptions(**chosen)
