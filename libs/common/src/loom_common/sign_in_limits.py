"""Wrong operator tokens limited per client address (the ``limits`` library, which
Flask-Limiter is built on).

Only wrong tokens count; once an address has used up its allowance every attempt from it
is refused, the right token too, until the window moves on, so guessing cannot go on in
the background. Storage is Redis when ``LOOM_CACHE_URL`` is set (every worker and host
counts together), memory otherwise (dev: each process counts alone).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from loguru import logger

DEFAULT_LIMIT = "10 per 5 minutes"


class SignInLimiter:
    def __init__(self, scope: str, storage_uri: str | None, limit: str = DEFAULT_LIMIT) -> None:
        self.scope = scope
        self.item: RateLimitItem = parse(limit)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri or "memory://"))

    def retry_after(self, address: str) -> int:
        """0 if ``address`` may try a token now, else the whole seconds it must wait."""
        try:
            if self._limiter.test(self.item, self.scope, address):
                return 0
            reset_at = self._limiter.get_window_stats(self.item, self.scope, address).reset_time
        except Exception as error:  # the token is still checked; only the limit is lost
            logger.warning("operator sign-in limit not checked, its store failed: {}", error)
            return 0
        return max(1, math.ceil(reset_at - time.time()))

    def failed(self, address: str) -> None:
        """Count a wrong token from ``address``."""
        try:
            self._limiter.hit(self.item, self.scope, address)
        except Exception as error:
            logger.warning("operator sign-in limit not counted, its store failed: {}", error)
