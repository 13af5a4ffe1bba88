"""Sentry's ingest endpoints: ``POST /api/<project_id>/envelope/`` and ``/store/``.

Authenticated by the DSN key (not the operator token). A request is checked, its events are
put on the ``errors`` queue (the path Loom's own events take) and the answer is
``{"id": "<event_id>"}``; the consumer groups and stores. Every refusal is counted in
``loom_errors_ingest_refused_total`` by reason.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from flask import Blueprint, current_app, request
from spectree import Response
from sqlalchemy import bindparam, select

from loom_common.api_errors import ApiError, note_refusal
from loom_common.auth import public
from loom_common.bodies import BodyRefused, read_body
from loom_common.broker import send
from loom_common.contracts import ERRORS_ACTOR, ERRORS_QUEUE
from loom_common.flask_app import current_config, current_database, current_settings
from loom_common.json_depth import MAX_JSON_DEPTH, nests_deeper_than
from loom_errors.config import ErrorsConfig
from loom_errors.extensions import spec
from loom_errors.ingest.envelopes import EnvelopeItem, MalformedEnvelope, parse_envelope
from loom_errors.ingest.rate_limit import RateLimiter, rate_limiter
from loom_errors.ingest.sentry_auth import sentry_key
from loom_errors.ingest.sentry_event import MalformedEvent, parse_event
from loom_errors.metrics import (
    INGEST_ITEMS,
    INGEST_ITEMS_DROPPED,
    INGEST_REFUSED,
    item_type_label,
)
from loom_errors.models import Project, ProjectKey
from loom_errors.schemas import IngestAnswer

sentry_api = Blueprint("sentry_api", __name__, url_prefix="/api")

# Items that are one event each: each takes a token from the project's rate limit, and an
# envelope holds at most one of them (Sentry's envelope rule, which Relay enforces), so one
# request can never carry thousands of events past a limit counted per request.
_EVENT_ITEM_TYPES = ("event", "transaction")
# Sentry's rate limit categories (X-Sentry-Rate-Limits), which sentry-sdk backs off per category.
_RATE_LIMIT_CATEGORY = {"event": "error", "transaction": "transaction"}

_NO_SECURITY: dict[str, list[str]] = {}


def _refuse(
    reason: str, status: int, message: str, headers: dict[str, str] | None = None
) -> ApiError:
    INGEST_REFUSED.labels(reason=reason).inc()
    note_refusal(reason)
    return ApiError(status, message, headers=headers)


# Built once: only the parameters change per request.
_PROJECT_AND_KEY = (
    select(Project.id, ProjectKey.project_id, ProjectKey.revoked_at)
    .outerjoin(ProjectKey, ProjectKey.public_key == bindparam("public_key"))
    .where(Project.id == bindparam("project_id"))
)


def _check_key(project_id: int) -> None:
    """404 unknown project, 401 missing or wrong key, 403 revoked key.

    One query on a bare connection (no ORM session): it runs on every ingest request, and a
    revoked key must be refused at once by every worker, so nothing is cached. In autocommit:
    a lone read needs no transaction, which saves a BEGIN and a ROLLBACK on PostgreSQL.
    """
    key = sentry_key(request)
    with current_database().engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")  # reset when returned
        found = connection.execute(
            _PROJECT_AND_KEY, {"public_key": key or "", "project_id": project_id}
        ).first()
    if found is None:
        raise _refuse("unknown_project", 404, f"no project with id {project_id}")
    if key is None:
        raise _refuse("missing_key", 401, "missing DSN key: send ?sentry_key= or X-Sentry-Auth")
    _, key_project_id, revoked_at = found
    if key_project_id != project_id:
        raise _refuse("bad_key", 401, f"this DSN key is not a key of project {project_id}")
    if revoked_at is not None:
        raise _refuse("revoked_key", 403, "this DSN key was revoked")


def _body() -> bytes:
    """The request body with its Content-Encoding undone, both within their limits."""
    config = current_config(ErrorsConfig)
    try:
        return read_body(config.max_body_bytes, config.max_decompressed_bytes)
    except BodyRefused as refusal:
        INGEST_REFUSED.labels(reason=refusal.reason).inc()
        note_refusal(refusal.reason)
        raise


def _limiter() -> RateLimiter:
    limiter: RateLimiter | None = current_app.extensions.get("errors_rate_limiter")
    if limiter is None:
        settings = current_settings()
        limiter = rate_limiter(settings.cache_url, settings.var_dir)
        current_app.extensions["errors_rate_limiter"] = limiter
    return limiter


def _rate_limit(project_id: int, item_type: str) -> None:
    """Take the token of one event (or transaction) item; 429 when the project has none left."""
    config = current_config(ErrorsConfig)
    wait = _limiter().take(project_id, config.rate_per_second, config.rate_burst)
    if wait:
        INGEST_ITEMS_DROPPED.labels(type=item_type, reason="rate_limited").inc()
        # sentry-sdk reads X-Sentry-Rate-Limits (and ignores a non-integer Retry-After).
        category = _RATE_LIMIT_CATEGORY[item_type]
        raise _refuse(
            "rate_limited",
            429,
            f"project {project_id} is over its event rate limit; retry in {wait} s",
            headers={
                "Retry-After": str(wait),
                "X-Sentry-Rate-Limits": f"{wait}:{category}:project:{project_id}",
            },
        )


def _one_event_item(items: list[EnvelopeItem]) -> EnvelopeItem | None:
    """The envelope's event or transaction item, if any; 400 if it holds more than one."""
    found = [item for item in items if item.type in _EVENT_ITEM_TYPES]
    if len(found) > 1:
        for item in found:
            INGEST_ITEMS_DROPPED.labels(type=item.type, reason="too_many_events").inc()
        raise _refuse(
            "too_many_events",
            400,
            f"an envelope may hold at most one event or transaction item; this one holds"
            f" {len(found)}",
        )
    return found[0] if found else None


def _checked_event(raw: Any, event_id: str | None) -> dict[str, Any]:
    """The event with the winning id, validated enough that the consumer can store it."""
    if not isinstance(raw, dict):
        raise _refuse("malformed_event", 400, "an event must be a JSON object")
    if event_id is not None:
        raw["event_id"] = event_id  # the envelope header's id wins over the payload's
    raw.setdefault("event_id", uuid.uuid4().hex)
    try:
        event = parse_event(raw)
    except MalformedEvent as error:
        raise _refuse("malformed_event", 400, str(error)) from None
    raw["event_id"] = event.event_id
    return raw


def _json(payload: bytes, what: str) -> Any:
    """The one place ingest parses an event: what passes here can be published and stored."""
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise _refuse("malformed_event", 400, f"the {what} is not JSON: {error}") from None
    if nests_deeper_than(value, MAX_JSON_DEPTH):
        raise _refuse(
            "too_deep", 400, f"the {what} nests deeper than the {MAX_JSON_DEPTH} level limit"
        )
    return value


def _enqueue(project_id: int, event: dict[str, Any]) -> None:
    send(ERRORS_QUEUE, ERRORS_ACTOR, event=event, project_id=project_id)
    INGEST_ITEMS.labels(type="event").inc()


@sentry_api.post("/<int:project_id>/envelope/")
@spec.validate(resp=Response(HTTP_200=IngestAnswer), tags=["ingest"], security=_NO_SECURITY)
@public
def envelope(project_id: int) -> dict[str, Any]:
    """Sentry envelope ingest (what sentry-sdk 2.x sends), authenticated by the DSN key."""
    _check_key(project_id)
    try:
        parsed = parse_envelope(_body())
    except MalformedEnvelope as error:
        raise _refuse("malformed_envelope", 400, f"malformed envelope: {error}") from None
    counted = _one_event_item(parsed.items)
    event = None
    if counted is not None and counted.type == "event":
        event = _checked_event(_json(counted.payload, "event item"), parsed.event_id)
    if counted is not None:
        _rate_limit(project_id, counted.type)  # a valid event only: a 400 costs no token
    if event is not None:
        _enqueue(project_id, event)
    for item in parsed.items:
        if item.type != "event":
            INGEST_ITEMS.labels(type=item_type_label(item.type)).inc()  # counted, not stored
    answer_id = event["event_id"] if event is not None else parsed.event_id
    return {"id": answer_id or uuid.uuid4().hex}


@sentry_api.post("/<int:project_id>/store/")
@spec.validate(resp=Response(HTTP_200=IngestAnswer), tags=["ingest"], security=_NO_SECURITY)
@public
def store(project_id: int) -> dict[str, Any]:
    """Sentry's older ingest: the body is one event (JSON), authenticated by the DSN key."""
    _check_key(project_id)
    event = _checked_event(_json(_body(), "body"), None)
    _rate_limit(project_id, "event")
    _enqueue(project_id, event)
    return {"id": event["event_id"]}
