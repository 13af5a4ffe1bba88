"""How many error events one process may report: a flood of 500s must not become a flood of
stored events in the errors service (anyone who finds a request that fails can send it in
a loop).

Two token buckets, both per process (a process only needs to bound what it sends itself):

- every event takes a token from one bucket of ``burst`` tokens refilled at ``rate`` a second;
- an event also takes one from the bucket of its fingerprint (the exception's type and the
  place that raised it, or the message), ``repeat_burst`` tokens refilled at ``repeat_rate``
  a second, so one failing line cannot use up the budget of every other failure.

What is refused is counted in ``loom_error_events_dropped_total`` by reason
(``repeated``, ``rate_limited``), next to the transport's ``buffer_full``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

REPEATED = "repeated"
RATE_LIMITED = "rate_limited"


class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``rate`` a second; not thread-safe."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.checked_at = now

    def take(self, now: float) -> bool:
        elapsed = max(0.0, now - self.checked_at)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.checked_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def event_fingerprint(event: dict[str, Any]) -> str:
    """What makes two events "the same failure": the innermost exception's type and the
    frame that raised it (not its message, which often holds ids), else the message."""
    values = (event.get("exception") or {}).get("values") or []
    if values:
        innermost = values[-1]
        frames = (innermost.get("stacktrace") or {}).get("frames") or []
        where = frames[-1] if frames else {}
        return "|".join(
            str(part)
            for part in (
                innermost.get("type"),
                where.get("module") or where.get("filename"),
                where.get("function"),
                where.get("lineno"),
            )
        )
    message = event.get("message") or (event.get("logentry") or {}).get("message")
    return f"message|{message}"


class CaptureLimiter:
    """Decides whether an event may be sent; see the module docstring."""

    def __init__(
        self,
        *,
        burst: int,
        rate: float,
        repeat_burst: int,
        repeat_rate: float,
        max_fingerprints: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._all = TokenBucket(burst, rate, clock())
        self._repeat_burst = repeat_burst
        self._repeat_rate = repeat_rate
        # Least recently seen fingerprints are forgotten first, so memory stays bounded
        # however many distinct failures arrive.
        self._by_fingerprint: OrderedDict[str, TokenBucket] = OrderedDict()
        self._max_fingerprints = max_fingerprints
        self._lock = threading.Lock()

    def refusal(self, event: dict[str, Any]) -> str | None:
        """None if ``event`` may be sent, else why not (``repeated`` or ``rate_limited``)."""
        fingerprint = event_fingerprint(event)
        with self._lock:
            now = self._clock()
            bucket = self._by_fingerprint.pop(fingerprint, None)
            if bucket is None:
                bucket = TokenBucket(self._repeat_burst, self._repeat_rate, now)
                if len(self._by_fingerprint) >= self._max_fingerprints:
                    self._by_fingerprint.popitem(last=False)
            self._by_fingerprint[fingerprint] = bucket
            if not bucket.take(now):
                return REPEATED
            if not self._all.take(now):
                return RATE_LIMITED
        return None
