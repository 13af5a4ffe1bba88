"""Reading an ingest request's body within the size limits, decompressed by its magic bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from loom_common.api_errors import ApiError
from loom_logs.config import LogsConfig
from loom_logs.ingest.encodings import BadCompression, PayloadTooLarge, decompress
from loom_logs.ingest.intake import Candidate
from loom_logs.store.records import RecordRejected


class IngestRefused(ApiError):
    """A whole ingest request refused; ``reason`` is the metric label it is counted under."""

    def __init__(self, status: int, reason: str, message: str, **kwargs: Any) -> None:
        super().__init__(status, message, **kwargs)
        self.reason = reason


def read_body(config: LogsConfig) -> bytes:
    """The request body, decompressed; 413 past ``max_body_bytes`` before or after inflating."""
    limit = config.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise IngestRefused(413, "body_too_large", f"the body exceeds {limit} bytes")
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise IngestRefused(413, "body_too_large", f"the body exceeds {limit} bytes") from None
    if len(raw) > limit:
        raise IngestRefused(413, "body_too_large", f"the body exceeds {limit} bytes")
    try:
        return decompress(raw, limit)
    except PayloadTooLarge:
        message = f"the decompressed body exceeds {limit} bytes"
        raise IngestRefused(413, "decompressed_too_large", message) from None
    except BadCompression as error:
        raise IngestRefused(400, "bad_compression", str(error)) from None


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
