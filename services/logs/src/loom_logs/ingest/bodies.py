"""Turning an ingest request's body (read by :func:`loom_common.bodies.read_body`) into records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from loom_common.api_errors import ApiError
from loom_logs.config import LogsConfig
from loom_logs.ingest.intake import Candidate
from loom_logs.store.records import RecordRejected


class IngestRefused(ApiError):
    """A whole ingest request refused; ``reason`` is the metric label it is counted under."""

    def __init__(self, status: int, reason: str, message: str, **kwargs: Any) -> None:
        super().__init__(status, message, **kwargs)
        self.reason = reason


def check_record_count(count: int, limit: int) -> None:
    """The one bound on records per request, for every HTTP input: 413 past ``limit``."""
    if count > limit:
        raise IngestRefused(413, "too_many_records", f"more than {limit} records in one request")


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise IngestRefused(400, "malformed_json", f"malformed JSON body: {error}") from None


def json_lines(body: bytes, max_line_bytes: int) -> Iterator[Candidate]:
    """One candidate per non-blank line; a line that is not JSON is refused alone."""
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        if len(line) > max_line_bytes:
            yield RecordRejected("record_too_large", f"larger than {max_line_bytes} bytes")
            continue
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError as error:
            yield RecordRejected("malformed_json", str(error))


def ingest_candidates(body: bytes, config: LogsConfig) -> list[Candidate]:
    """A JSON array of records, one record object, or JSON lines (one record a line)."""
    stripped = body.lstrip()
    if not stripped:
        raise IngestRefused(400, "empty_body", "the body holds no records")
    candidates: list[Candidate]
    if stripped.startswith(b"["):
        candidates = list(parse_json(body))
    else:
        try:
            single = orjson.loads(body)  # one (maybe pretty-printed) object
        except orjson.JSONDecodeError:
            single = None
        if isinstance(single, dict):
            candidates = [single]
        else:
            candidates = list(json_lines(body, config.max_record_bytes))
    return candidates
