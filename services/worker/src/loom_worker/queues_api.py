"""The queues API (operator token): depths per queue, and the dead letters of a queue."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response as SpecResponse
from sqlalchemy import update

from loom_common.api_errors import ApiError
from loom_common.flask_app import current_database, current_settings
from loom_worker.dead_letters import UnknownQueue, purge_dead_letters, requeue_dead_letters
from loom_worker.extensions import spec
from loom_worker.metrics import (
    DEAD_LETTERS_PURGED,
    DEAD_LETTERS_REQUEUED,
    QUEUE_DEPTHS_UNAVAILABLE,
)
from loom_worker.models import Job
from loom_worker.queue_depths import ManagementUnavailable, fetch_queues, queue_depths
from loom_worker.registry import job_queues
from loom_worker.schemas import DeadLettersPurged, DeadLettersRequeued, QueueList, QueueOut

queues_api = Blueprint("queues_api", __name__, url_prefix="/api")


@queues_api.get("/queues")
@spec.validate(resp=SpecResponse(HTTP_200=QueueList, HTTP_503=None), tags=["queues"])
def list_queues() -> QueueList:
    """Every queue of the broker's vhost: ready, unacknowledged, consumers, delayed, dead letters.

    From RabbitMQ's management API, whose figures lag by a few seconds."""
    settings = current_settings()
    try:
        queues = fetch_queues(settings.management_url, settings.vhost)
    except ManagementUnavailable as error:
        QUEUE_DEPTHS_UNAVAILABLE.labels(error.reason).inc()
        raise ApiError(
            503, f"queue depths are unavailable: {error}", headers={"Retry-After": "5"}
        ) from None
    depths = queue_depths(queues, always=job_queues())
    return QueueList(items=[QueueOut(**vars(depth)) for depth in depths])


def _unknown(queue: str) -> ApiError:
    return ApiError(404, f"no queue named {queue!r}")


@queues_api.post("/queues/<queue>/dead-letters/requeue")
@spec.validate(resp=SpecResponse(HTTP_200=DeadLettersRequeued), tags=["queues"])
def requeue(queue: str) -> DeadLettersRequeued:
    """Put the queue's dead letters back on it, their retry count reset; how many moved."""
    database = current_database()

    def mark_queued(job_id: str) -> None:
        with database.session() as session:
            session.execute(
                update(Job).where(Job.id == job_id).values(status="queued", finished_at=None)
            )

    try:
        moved = requeue_dead_letters(current_settings().broker_url, queue, mark_queued)
    except UnknownQueue:
        raise _unknown(queue) from None
    DEAD_LETTERS_REQUEUED.labels(queue).inc(moved)
    return DeadLettersRequeued(queue=queue, requeued=moved)


@queues_api.delete("/queues/<queue>/dead-letters")
@spec.validate(resp=SpecResponse(HTTP_200=DeadLettersPurged), tags=["queues"])
def purge(queue: str) -> DeadLettersPurged:
    """Drop the queue's dead letters for good; how many there were (their records stay)."""
    try:
        purged = purge_dead_letters(current_settings().broker_url, queue)
    except UnknownQueue:
        raise _unknown(queue) from None
    DEAD_LETTERS_PURGED.labels(queue).inc(purged)
    return DeadLettersPurged(queue=queue, purged=purged)
