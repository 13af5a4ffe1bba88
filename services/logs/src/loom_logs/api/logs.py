"""The logs service's JSON API: search, context, histogram and delete by query."""

from __future__ import annotations

from flask import Blueprint, g
from spectree import Response
from sqlalchemy import delete

from loom_common.api_errors import ApiError
from loom_common.flask_app import current_database
from loom_logs.extensions import spec
from loom_logs.schemas import (
    ContextQuery,
    DeleteResult,
    Histogram,
    HistogramBucket,
    HistogramQuery,
    LogContext,
    LogFilterQuery,
    LogPage,
    LogSearchQuery,
)
from loom_logs.search.histogram import TooManyBuckets, count_per_bucket, interval_seconds
from loom_logs.search.line_context import records_around
from loom_logs.search.query import (
    after_position,
    filter_conditions,
    page_cursor,
    search_records,
    tables_for,
)
from loom_logs.search.serialisers import log_filter, log_item

api = Blueprint("api", __name__, url_prefix="/api")


@api.get("/logs")
@spec.validate(query=LogSearchQuery, resp=Response(HTTP_200=LogPage), tags=["logs"])
def search_logs(query: LogSearchQuery) -> LogPage:
    """Search stored log records, newest first, one page at a time."""
    after = after_position(query.cursor)  # a bad cursor is InvalidCursor, a 400
    with current_database().session() as session:
        page = search_records(session, log_filter(query), limit=query.limit, after=after)
        items = [log_item(record) for record in page.records]
    next_cursor = page_cursor(page.next_position) if page.next_position else None
    return LogPage(items=items, next_cursor=next_cursor)


@api.get("/logs/<int:record_id>/context")
@spec.validate(query=ContextQuery, resp=Response(HTTP_200=LogContext, HTTP_404=None), tags=["logs"])
def log_context(record_id: int, query: ContextQuery) -> LogContext:
    """The records just before and after one record, from the same service and host."""
    with current_database().session() as session:
        around = records_around(session, record_id, before=query.before, after=query.after)
        if around is None:
            raise ApiError(404, f"no log record with id {record_id}")
        return LogContext(
            before=[log_item(r) for r in around.before],
            record=log_item(around.record),
            after=[log_item(r) for r in around.after],
        )


@api.get("/logs/histogram")
@spec.validate(query=HistogramQuery, resp=Response(HTTP_200=Histogram), tags=["logs"])
def log_histogram(query: HistogramQuery) -> Histogram:
    """How many records match the filters, per interval (oldest first, empty ones too)."""
    width = interval_seconds(query.interval)
    with current_database().session() as session:
        try:
            buckets = count_per_bucket(session, log_filter(query), width)
        except TooManyBuckets as error:
            raise ApiError(422, str(error), fields={"interval": str(error)}) from None
    return Histogram(
        interval_seconds=width,
        buckets=[HistogramBucket(start=start, count=count) for start, count in buckets],
    )


@api.delete("/logs")
@spec.validate(query=LogFilterQuery, resp=Response(HTTP_200=DeleteResult), tags=["logs"])
def delete_logs(query: LogFilterQuery) -> DeleteResult:
    """Delete every record matching the filters (operator only; at least one filter)."""
    if g.get("caller") != "operator":
        raise ApiError(403, "only the operator token may delete log records")
    if not query.has_filters():
        raise ApiError(400, "refusing to delete everything: give at least one filter")
    wanted = log_filter(query)
    deleted = 0
    with current_database().session() as session:
        for table in tables_for(session, wanted):
            statement = delete(table).where(*filter_conditions(session, table, wanted))
            deleted += session.execute(statement).rowcount  # type: ignore[attr-defined]
    return DeleteResult(deleted=deleted)
