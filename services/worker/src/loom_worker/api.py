"""The worker's jobs API: what became of a background job."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from spectree import Response
from sqlalchemy import and_, or_, select

from loom_common.api_errors import ApiError
from loom_common.cursors import decode_cursor, encode_cursor
from loom_common.flask_app import current_database
from loom_worker.extensions import spec
from loom_worker.models import Job
from loom_worker.schemas import JobOut, JobPage, JobQuery

api = Blueprint("api", __name__, url_prefix="/api")


@api.get("/jobs/<job_id>")
@spec.validate(resp=Response(HTTP_200=JobOut), tags=["jobs"])
def get_job(job_id: str) -> JobOut:
    """One job, with its status, attempts, result or error."""
    with current_database().session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise ApiError(404, f"no job with id {job_id}")
        return JobOut.model_validate(job, from_attributes=True)


@api.get("/jobs")
@spec.validate(query=JobQuery, resp=Response(HTTP_200=JobPage), tags=["jobs"])
def list_jobs(query: JobQuery) -> JobPage:
    """Jobs, newest first, filtered by status and actor."""
    statement = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(query.limit + 1)
    if query.status:
        statement = statement.where(Job.status == query.status)
    if query.actor:
        statement = statement.where(Job.actor == query.actor)
    if query.cursor:
        created_at, last_id = decode_cursor(query.cursor, 2)
        try:
            after = datetime.fromisoformat(created_at)
        except (TypeError, ValueError):
            raise ApiError(
                400, "invalid cursor: pass back the next_cursor of a previous page"
            ) from None
        statement = statement.where(
            or_(Job.created_at < after, and_(Job.created_at == after, Job.id < last_id))
        )
    with current_database().session() as session:
        jobs = list(session.scalars(statement))
    page, more = jobs[: query.limit], len(jobs) > query.limit
    next_cursor = encode_cursor(page[-1].created_at.isoformat(), page[-1].id) if more else None
    return JobPage(
        items=[JobOut.model_validate(job, from_attributes=True) for job in page],
        next_cursor=next_cursor,
    )
