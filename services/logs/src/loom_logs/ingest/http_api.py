"""Log ingest over HTTP: Loom's JSON (``/api/ingest``), GELF (``/gelf``) and Loki push.

Each checks its records one by one (:mod:`loom_logs.ingest.intake`) and publishes the good ones to
the ``logs`` queue, answering once RabbitMQ has them. Whole requests refused (auth, size,
encoding, malformed bodies) are counted in ``loom_logs_ingest_refused_total`` by source and
reason; single records refused, in ``loom_logs_records_rejected_total``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, request
from spectree import Response as SpecResponse

from loom_common.api_errors import ApiError, error_response, note_refusal, refusal_reason
from loom_common.auth import public
from loom_common.bodies import BodyRefused, read_body
from loom_common.flask_app import current_config
from loom_common.runtime import publish_log_batch
from loom_logs.config import LogsConfig
from loom_logs.extensions import spec
from loom_logs.ingest.auth import require_ingest_token
from loom_logs.ingest.bodies import (
    IngestRefused,
    check_record_count,
    ingest_candidates,
    parse_json,
)
from loom_logs.ingest.gelf import gelf_to_record
from loom_logs.ingest.intake import Candidate, Intake, check_records, publish_in_batches
from loom_logs.ingest.loki import loki_candidates
from loom_logs.ingest.loki_limits import LokiLimits, check_push_limits
from loom_logs.metrics import INGEST_REFUSED
from loom_logs.schemas import IngestReport
from loom_logs.store.records import RecordRejected

ingest = Blueprint("ingest", __name__)

_SOURCES = {
    "ingest.ingest_records": "api",
    "ingest.ingest_gelf": "gelf_http",
    "ingest.loki_push": "loki",
}


def _config() -> LogsConfig:
    return current_config(LogsConfig)


def _take_in(candidates: list[Any], source: str) -> Intake:
    config = _config()
    check_record_count(len(candidates), config.max_records_per_request)
    intake = check_records(candidates, max_record_bytes=config.max_record_bytes)
    publish_in_batches(intake.accepted, publish_log_batch, source=source)
    g.ingest_counted = bool(intake.rejected)
    return intake


@ingest.before_request
def _authenticate_sender() -> None:
    require_ingest_token(_config())


def _body() -> bytes:
    """The body, decompressed by its magic bytes (senders mislabel it, see loom_common.bodies)."""
    return read_body(_config().max_body_bytes, sniff=True)


@ingest.errorhandler(IngestRefused)
@ingest.errorhandler(BodyRefused)
def _answer_refusal(error: IngestRefused | BodyRefused) -> Response:
    note_refusal(error.reason)
    return error_response(error.status, error.message, code=error.code, headers=error.headers)


@ingest.after_request
def _count_refusals(response: Response) -> Response:
    if response.status_code >= 400 and not g.get("ingest_counted"):
        source = _SOURCES.get(request.endpoint or "", "unknown")
        INGEST_REFUSED.labels(source=source, reason=refusal_reason(response)).inc()
    return response


@ingest.post("/api/ingest")
@public  # checks its own tokens, ingest tokens included
@spec.validate(resp=SpecResponse(HTTP_202=IngestReport), tags=["ingest"])
def ingest_records() -> tuple[IngestReport, int]:
    """Take in log records: a JSON array, one object, or JSON lines (gzip/zlib bodies welcome).

    Bad records are refused one by one and listed; the good ones are queued for storage.
    Auth: the operator token or an ingest token (bearer, basic-auth password, or ``?token=``).
    """
    candidates = ingest_candidates(_body(), _config())
    intake = _take_in(candidates, "api")
    return IngestReport.model_validate(intake.report()), 202


@ingest.post("/gelf")
@spec.validate(resp=SpecResponse(HTTP_202=IngestReport), tags=["ingest"])
def ingest_gelf() -> tuple[IngestReport, int]:
    """One GELF 1.0/1.1 message (plain, gzip or zlib, whatever Content-Encoding says)."""
    message = parse_json(_body())
    messages = message if isinstance(message, list) else [message]
    check_record_count(len(messages), _config().max_records_per_request)
    candidates = [_gelf_candidate(item) for item in messages]
    intake = _take_in(candidates, "gelf_http")
    if not intake.accepted and intake.rejections:
        first = intake.rejections[0]
        raise ApiError(422, f"GELF message refused: {first.message}", code=first.reason)
    return IngestReport.model_validate(intake.report()), 202


def _gelf_candidate(item: Any) -> Candidate:
    try:
        return gelf_to_record(item)
    except RecordRejected as rejection:
        return rejection


@ingest.post("/loki/api/v1/push")
@spec.validate(resp=SpecResponse("HTTP_204"), tags=["ingest"])
def loki_push() -> Response:
    """Loki's push API, JSON form; answers 204 like Loki. Protobuf bodies are refused (415)."""
    if not request.is_json:
        raise IngestRefused(
            415, "unsupported_media_type", "only Content-Type: application/json is accepted"
        )
    payload = parse_json(_body())
    check_push_limits(payload, LokiLimits.from_config(_config()))  # before any line is built
    intake = _take_in(list(loki_candidates(payload)), "loki")
    if not intake.accepted and intake.rejections:
        first = intake.rejections[0]
        raise ApiError(400, f"no line accepted: {first.message}", code=first.reason)
    return Response(status=204)
