"""The log shipper's spool: batches the broker could not take, on local disk, replayed in order.

One append-only file per process, ``<service>-<pid>.spool`` under the spool folder, one batch
per line (a JSON array of records). Replay reads from the oldest file at a byte offset kept in
``<file>.offset`` (rewritten after each batch published), so a crash in the middle of a
replay repeats at most one batch. A file fully replayed is deleted.

On start the spool adopts the files whose process is gone (or whose pid is this process's
own: a container restarts with the same pid) by renaming them to its own name; a rename is
atomic, so two processes never adopt the same file. Adopted files are replayed first, oldest
first, before anything this process spools. The folder must be local to the host: pids of
another host mean nothing here.

All the files together stay under ``max_bytes``; a batch that does not fit is refused (the
shipper counts it as dropped). Not thread-safe: the shipper's thread is its only user.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from loguru import logger

from loom_common.metrics import LOG_RECORDS_DROPPED
from loom_common.process import current_pid

Batch = list[dict[str, Any]]


@dataclass
class _Segment:
    path: Path
    size: int
    offset: int = 0
    reader: IO[bytes] | None = field(default=None, repr=False)

    @property
    def offset_path(self) -> Path:
        return self.path.with_name(self.path.name + ".offset")

    @property
    def drained(self) -> bool:
        return self.offset >= self.size


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process, alive
        return True
    return True


def _read_offset(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


class LogSpool:
    def __init__(self, directory: Path, service: str, max_bytes: int) -> None:
        self.directory = directory
        self.service = service
        self.max_bytes = max_bytes
        self.pid = current_pid()
        self.own_path = directory / f"{service}-{self.pid}.spool"
        self._segments: collections.deque[_Segment] = collections.deque()
        self._writer: IO[bytes] | None = None
        self._name = re.compile(rf"^{re.escape(service)}-(\d+)(\.adopted-[0-9a-f]+)?\.spool$")
        directory.mkdir(parents=True, exist_ok=True)
        self._adopt_orphans()

    @property
    def total_bytes(self) -> int:
        return sum(segment.size for segment in self._segments)

    @property
    def has_backlog(self) -> bool:
        return any(not segment.drained for segment in self._segments)

    def append(self, records: Batch) -> bool:
        """Write one batch at the end of the spool; False when it would exceed ``max_bytes``."""
        line = orjson.dumps(records, default=str) + b"\n"
        if self.total_bytes + len(line) > self.max_bytes:
            return False
        tail = self._segments[-1] if self._segments else None
        if tail is None or tail.path != self.own_path:
            tail = _Segment(self.own_path, size=0)
            self._segments.append(tail)
        if self._writer is None:
            self._writer = self.own_path.open("ab", buffering=0)
        # One write call per line: a crash leaves at most a torn last line, skipped on replay.
        self._writer.write(line)
        tail.size += len(line)
        return True

    def peek(self) -> Batch | None:
        """The oldest batch not yet replayed, or None when the spool is empty."""
        while self._segments:
            segment = self._segments[0]
            if segment.drained:
                self._remove(segment)
                continue
            if segment.reader is None:
                segment.reader = segment.path.open("rb")
            segment.reader.seek(segment.offset)
            line = segment.reader.readline()
            batch = self._decode(line, segment)
            if batch is not None:
                return batch
            self._advance(segment, len(line) or segment.size - segment.offset)
        return None

    def pop(self) -> None:
        """The batch ``peek`` returned has been published: step over it."""
        segment = self._segments[0]
        assert segment.reader is not None
        segment.reader.seek(segment.offset)
        self._advance(segment, len(segment.reader.readline()))
        if segment.drained:
            self._remove(segment)

    def close(self) -> None:
        for segment in self._segments:
            if segment.reader is not None:
                segment.reader.close()
                segment.reader = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _decode(self, line: bytes, segment: _Segment) -> Batch | None:
        batch: Any = None
        if line.endswith(b"\n"):
            with contextlib.suppress(orjson.JSONDecodeError):
                batch = orjson.loads(line)
        if isinstance(batch, list):
            return batch
        # A torn last line (a crash mid-write) or damage: its records are lost; counted once
        # per line, as how many records it held cannot be known.
        logger.warning("log spool {}: skipping an unreadable line", segment.path.name)
        LOG_RECORDS_DROPPED.labels(service=self.service, reason="spool_unreadable").inc()
        return None

    def _advance(self, segment: _Segment, length: int) -> None:
        segment.offset += length
        if not segment.drained:
            segment.offset_path.write_text(str(segment.offset))

    def _remove(self, segment: _Segment) -> None:
        if segment.reader is not None:
            segment.reader.close()
        if segment.path == self.own_path and self._writer is not None:
            self._writer.close()
            self._writer = None
        segment.path.unlink(missing_ok=True)
        segment.offset_path.unlink(missing_ok=True)
        self._segments.remove(segment)

    def _adopt_orphans(self) -> None:
        orphans: list[tuple[float, Path]] = []
        for path in self.directory.iterdir():
            match = self._name.match(path.name)
            if match is None:
                continue
            pid = int(match.group(1))
            if pid != self.pid and _pid_alive(pid):
                continue
            claimed = (
                self.directory / f"{self.service}-{self.pid}.adopted-{secrets.token_hex(6)}.spool"
            )
            try:
                mtime = path.stat().st_mtime
                os.rename(path, claimed)
            except FileNotFoundError:  # another process adopted it first
                continue
            offset_file = path.with_name(path.name + ".offset")
            if offset_file.exists():
                os.rename(offset_file, claimed.with_name(claimed.name + ".offset"))
            orphans.append((mtime, claimed))
        for _mtime, path in sorted(orphans):
            segment = _Segment(path, size=path.stat().st_size)
            segment.offset = _read_offset(segment.offset_path)
            self._segments.append(segment)
        if orphans:
            logger.info(
                "log spool: replaying {} file(s) left by earlier processes ({} bytes)",
                len(orphans),
                self.total_bytes,
            )
