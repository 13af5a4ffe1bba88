"""Enqueue a known job with a record: the record exists (queued) before the message is sent,
so the job can be looked up the moment its id is known."""

from __future__ import annotations

import hashlib
from typing import Any

import dramatiq
import orjson
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loom_common.api_errors import ApiError
from loom_common.db import Database
from loom_common.request_context import current_request_id, new_request_id
from loom_worker.models import Job
from loom_worker.registry import JobSpec
from loom_worker.tracking import record_arguments


def arguments_digest(name: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        name.encode() + b"\0" + orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def build_message(spec: JobSpec, payload: dict[str, Any], job_id: str | None = None) -> Any:
    message: Any = dramatiq.Message(
        queue_name=spec.queue,
        actor_name=spec.name,
        args=(),
        kwargs=payload,
        options={"request_id": current_request_id() or new_request_id()},
    )
    return message.copy(message_id=job_id) if job_id else message


def new_job_record(spec: JobSpec, message: Any, payload: dict[str, Any]) -> Job:
    return Job(
        id=message.message_id,
        actor=spec.name,
        queue=spec.queue,
        arguments=record_arguments(payload),
        status="queued",
        attempts=0,
        request_id=message.options["request_id"],
        arguments_digest=arguments_digest(spec.name, payload),
    )


def send_recorded(database: Database, message: Any) -> None:
    """Send; if the broker refuses, the record goes too, so nothing claims to be queued."""
    try:
        dramatiq.get_broker().enqueue(message)
    except BaseException:
        with database.session() as session:
            job = session.get(Job, message.message_id)
            if job is not None and job.status == "queued":
                session.delete(job)
        raise


def _same_job_or_conflict(job: Job, spec: JobSpec, digest: str, key: str) -> Job:
    if job.actor != spec.name or job.arguments_digest != digest:
        raise ApiError(
            409,
            f"Idempotency-Key {key!r} was used for another job or other arguments (job {job.id})",
        )
    return job


def _find_by_key(session: Session, key: str) -> Job | None:
    return session.scalars(select(Job).where(Job.idempotency_key == key)).first()


def enqueue_job(
    database: Database, spec: JobSpec, arguments: BaseModel, idempotency_key: str | None = None
) -> tuple[Job, bool]:
    """The job's record and whether it was created now (False: an idempotent repeat)."""
    payload = arguments.model_dump(mode="json")
    digest = arguments_digest(spec.name, payload)
    if idempotency_key:
        with database.session() as session:
            existing = _find_by_key(session, idempotency_key)
            if existing is not None:
                return _same_job_or_conflict(existing, spec, digest, idempotency_key), False
    message = build_message(spec, payload)
    job = new_job_record(spec, message, payload)
    job.idempotency_key = idempotency_key
    try:
        with database.session() as session:
            session.add(job)
    except IntegrityError:
        # Another request with the same key won the race: answer with its job.
        with database.session() as session:
            existing = _find_by_key(session, idempotency_key or "")
        if existing is None:
            raise
        return _same_job_or_conflict(existing, spec, digest, idempotency_key or ""), False
    send_recorded(database, message)
    return job, True
