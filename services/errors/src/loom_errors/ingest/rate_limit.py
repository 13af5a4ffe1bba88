"""A token bucket per project, shared by every gunicorn worker, without a database write.

Each allowed event takes one token; tokens refill at ``rate`` a second up to ``burst``.
Where the buckets live:

- ``LOOM_CACHE_URL`` set (staging, production): in Redis, refilled and taken by one Lua
  script, so every worker on every host shares one bucket per project exactly. If Redis does
  not answer, events are let through (the limit protects the consumer; losing events to a
  cache outage would be worse) and that is counted and logged.
- otherwise (dev, one host): a 16-byte file per project under ``var/rate-buckets/``, read and
  rewritten under ``flock``, so the workers of this host share it exactly. About 20 µs a
  request, against a database transaction per request before.

A per-process bucket with the rate divided by the number of workers was the other option;
it lets a burst of ``burst`` through only if requests spread evenly over the workers, and
a test client (one process) would see a different limit from gunicorn.
"""

from __future__ import annotations

import fcntl
import math
import os
import struct
import threading
import time
from pathlib import Path
from typing import Protocol

import redis
from loguru import logger

from loom_errors.metrics import RATE_LIMIT_UNAVAILABLE

_BUCKET = struct.Struct("<dd")  # tokens, updated at (epoch seconds)


def take_from_bucket(
    tokens: float | None, updated_at: float, now: float, rate: float, burst: int
) -> tuple[float, int]:
    """The bucket's tokens after this request, and 0 if it may go in, else whole seconds to wait.

    ``tokens`` None: a new bucket, full.
    """
    if tokens is None:
        available = float(burst)
    else:
        available = min(float(burst), tokens + max(0.0, now - updated_at) * rate)
    if available >= 1:
        return available - 1, 0
    return available, max(1, math.ceil((1 - available) / rate))


class RateLimiter(Protocol):
    def take(self, project_id: int, rate: float, burst: int) -> int:
        """0 if an event of the project may go in, else the whole seconds to wait."""


class FileTokenBuckets:
    """Buckets in files under ``folder``: shared by the processes of one host."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()  # flock is per open file; threads share ours
        self._files: dict[int, int] = {}
        self._pid = os.getpid()

    def _file(self, project_id: int) -> int:
        if self._pid != os.getpid():  # a forked child must not share the parent's locks
            self._files, self._pid = {}, os.getpid()
        descriptor = self._files.get(project_id)
        if descriptor is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"project-{project_id}.bucket"
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            self._files[project_id] = descriptor
        return descriptor

    def take(self, project_id: int, rate: float, burst: int) -> int:
        if rate <= 0:
            return 0
        with self._lock:
            descriptor = self._file(project_id)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                saved = os.pread(descriptor, _BUCKET.size, 0)
                tokens, updated_at = (
                    _BUCKET.unpack(saved) if len(saved) == _BUCKET.size else (None, 0.0)
                )
                now = time.time()
                left, wait = take_from_bucket(tokens, updated_at, now, rate, burst)
                if not wait:
                    os.pwrite(descriptor, _BUCKET.pack(left, now), 0)
                return wait
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)


# Same arithmetic as take_from_bucket, in Redis' clock, atomically.
_TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1])
local available = burst
if tokens ~= nil then
  available = math.min(burst, tokens + math.max(0, now - tonumber(saved[2])) * rate)
end
if available >= 1 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(available - 1), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
  return 0
end
return math.max(1, math.ceil((1 - available) / rate))
"""


class RedisTokenBuckets:
    """Buckets in Redis hashes ``<prefix><project_id>``: shared by every host."""

    def __init__(self, url: str, prefix: str = "loom:errors:rate:") -> None:
        self.prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = self._client.register_script(_TAKE_SCRIPT)

    def take(self, project_id: int, rate: float, burst: int) -> int:
        if rate <= 0:
            return 0
        try:
            return int(self._take(keys=[f"{self.prefix}{project_id}"], args=[rate, burst]))
        except redis.RedisError as error:
            RATE_LIMIT_UNAVAILABLE.inc()
            logger.warning("rate limit not checked, Redis did not answer: {}", error)
            return 0


def rate_limiter(cache_url: str | None, var_dir: Path) -> RateLimiter:
    if cache_url:
        return RedisTokenBuckets(cache_url)
    return FileTokenBuckets(var_dir / "rate-buckets")
