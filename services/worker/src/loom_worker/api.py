"""The worker's jobs API: enqueue a known job, and what became of a background job."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, Response, request, send_file
from spectree import Response as SpecResponse
from sqlalchemy import and_, or_, select

from loom_common.api_errors import ApiError
from loom_common.cursors import decode_cursor, encode_cursor
from loom_common.flask_app import current_database, current_settings
from loom_worker.enqueue import enqueue_job
from loom_worker.extensions import spec
from loom_worker.job_arguments import validate_arguments
from loom_worker.job_context import export_path
from loom_worker.metrics import JOBS_REFUSED
from loom_worker.models import Job
from loom_worker.registry import job_spec
from loom_worker.schemas import EnqueueRequest, JobOut, JobPage, JobQuery

api = Blueprint("api", __name__, url_prefix="/api")

IDEMPOTENCY_HEADER = "Idempotency-Key"
_VALID_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_REFUSAL_REASONS = {
    400: "malformed",
    401: "unauthorized",
    404: "unknown_job",
    409: "idempotency_conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_arguments",
}


@api.after_request
def count_refused_enqueues(response: Response) -> Response:
    if request.endpoint == "api.enqueue" and response.status_code in _REFUSAL_REASONS:
        JOBS_REFUSED.labels(_REFUSAL_REASONS[response.status_code]).inc()
    return response


def _idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _VALID_IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            422,
            f"invalid {IDEMPOTENCY_HEADER}: 1 to 200 visible ASCII characters",
            fields={IDEMPOTENCY_HEADER: "1 to 200 visible ASCII characters"},
        )
    return key


@api.post("/jobs")
@spec.validate(
    json=EnqueueRequest,
    resp=SpecResponse(
        HTTP_202=JobOut, HTTP_200=JobOut, HTTP_404=None, HTTP_409=None, HTTP_413=None
    ),
    tags=["jobs"],
)
def enqueue(json: EnqueueRequest) -> tuple[JobOut, int]:
    """Enqueue a known job by name. 202 with the new job; with an ``Idempotency-Key`` header,
    a repeat answers 200 with the same job (409 if the key was used with other arguments)."""
    job_spec_ = job_spec(json.name)
    if job_spec_ is None:
        raise ApiError(404, f"no job named {json.name!r}")
    arguments = validate_arguments(job_spec_, json.args)
    job, created = enqueue_job(current_database(), job_spec_, arguments, _idempotency_key())
    return JobOut.of(job), 202 if created else 200


@api.get("/jobs/<job_id>")
@spec.validate(resp=SpecResponse(HTTP_200=JobOut), tags=["jobs"])
def get_job(job_id: str) -> JobOut:
    """One job, with its status, attempts, progress, result or error."""
    with current_database().session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise ApiError(404, f"no job with id {job_id}")
        return JobOut.of(job)


@api.get("/jobs/<job_id>/file")
def get_job_file(job_id: str) -> Response:
    """The file a finished job produced (the CSV of ``exports.project_csv``)."""
    with current_database().session() as session:
        job = session.get(Job, job_id)
    if job is None:
        raise ApiError(404, f"no job with id {job_id}")
    job_spec_ = job_spec(job.actor)
    if job_spec_ is None or not job_spec_.produces_file:
        raise ApiError(404, f"job {job_id} ({job.actor}) produces no file")
    if job.status != "succeeded":
        raise ApiError(409, f"job {job_id} is {job.status}: its file is not ready")
    path = export_path(current_settings(), job_id)
    if not path.is_file():
        raise ApiError(404, f"the file of job {job_id} has been removed (exports are kept a while)")
    return send_file(
        path.resolve(),
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"{job.actor.replace('.', '-')}-{job_id}.csv",
        max_age=0,
    )


@api.get("/jobs")
@spec.validate(query=JobQuery, resp=SpecResponse(HTTP_200=JobPage), tags=["jobs"])
def list_jobs(query: JobQuery) -> JobPage:
    """Jobs, newest first, filtered by status and actor."""
    statement = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(query.limit + 1)
    if query.status:
        statement = statement.where(Job.status == query.status)
    if query.actor:
        statement = statement.where(Job.actor == query.actor)
    if query.cursor:
        after, last_id = decode_cursor("jobs", query.cursor, datetime, str)
        statement = statement.where(
            or_(Job.created_at < after, and_(Job.created_at == after, Job.id < last_id))
        )
    with current_database().session() as session:
        jobs = list(session.scalars(statement))
    page, more = jobs[: query.limit], len(jobs) > query.limit
    next_cursor = encode_cursor("jobs", page[-1].created_at, page[-1].id) if more else None
    return JobPage(items=[JobOut.of(job) for job in page], next_cursor=next_cursor)
