"""Reassembling chunked GELF UDP messages.

A chunk is ``1e 0f``, an 8-byte message id, a sequence number and a sequence count (at most
128), then its share of the payload. A message whose chunks do not all arrive within the
timeout (5 s by the spec) is dropped and counted; so are malformed chunks, and new messages
once too many are pending (a flood of first chunks must not eat the memory). The bytes held
for incomplete messages are bounded too: past ``max_held_bytes`` the oldest are dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

CHUNK_MAGIC = b"\x1e\x0f"
HEADER_SIZE = 12
MAX_CHUNKS = 128


class ChunkRefused(ValueError):
    """The chunk cannot be used; ``reason`` is the metric label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Pending:
    started: float
    count: int
    parts: dict[int, bytes] = field(default_factory=dict)
    size: int = 0


def _ignore(_reason: str) -> None:
    return None


class ChunkAssembler:
    """``dropped(reason)`` is called for each incomplete message dropped to make room."""

    def __init__(
        self,
        *,
        timeout: float,
        max_pending: int,
        max_message_bytes: int,
        max_held_bytes: int,
        dropped: Callable[[str], None] = _ignore,
    ) -> None:
        self.timeout = timeout
        self.max_pending = max_pending
        self.max_message_bytes = max_message_bytes
        self.max_held_bytes = max_held_bytes
        self.dropped = dropped
        self.held_bytes = 0  # the parts of every pending message
        self._pending: OrderedDict[bytes, _Pending] = OrderedDict()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _forget(self, message_id: bytes) -> _Pending:
        pending = self._pending.pop(message_id)
        self.held_bytes -= pending.size
        return pending

    def _make_room(self) -> None:
        while self.held_bytes > self.max_held_bytes and self._pending:
            self._forget(next(iter(self._pending)))
            self.dropped("chunks_evicted")

    def add(self, datagram: bytes, now: float) -> bytes | None:
        """The whole message once its last chunk arrives, else None; raises ChunkRefused."""
        if len(datagram) <= HEADER_SIZE:
            raise ChunkRefused("invalid_chunk")
        message_id = datagram[2:10]
        sequence, count = datagram[10], datagram[11]
        if count == 0 or count > MAX_CHUNKS or sequence >= count:
            raise ChunkRefused("invalid_chunk")
        pending = self._pending.get(message_id)
        if pending is None:
            if len(self._pending) >= self.max_pending:
                raise ChunkRefused("too_many_pending")
            pending = self._pending[message_id] = _Pending(started=now, count=count)
        elif pending.count != count:
            self._forget(message_id)
            raise ChunkRefused("invalid_chunk")
        part = datagram[HEADER_SIZE:]
        if sequence not in pending.parts:
            pending.parts[sequence] = part
            pending.size += len(part)
            self.held_bytes += len(part)
        if pending.size > self.max_message_bytes:
            self._forget(message_id)
            raise ChunkRefused("message_too_large")
        if len(pending.parts) < pending.count:
            self._make_room()  # this message too, if it is the oldest
            return None
        self._forget(message_id)
        return b"".join(pending.parts[index] for index in range(pending.count))

    def expire(self, now: float) -> int:
        """Drop messages older than the timeout; how many were dropped."""
        expired = 0
        while self._pending:
            message_id, oldest = next(iter(self._pending.items()))
            if now - oldest.started < self.timeout:
                break
            self._forget(message_id)
            expired += 1
        return expired
