"""The logs service's JSON API: searching stored records."""

from __future__ import annotations

import orjson
from flask import Blueprint
from spectree import Response

from loom_common.api_errors import ApiError
from loom_common.flask_app import current_database
from loom_logs.cursors import InvalidCursor, decode_cursor, encode_cursor
from loom_logs.extensions import spec
from loom_logs.levels import LEVEL_NUMBERS
from loom_logs.models import LogRecord
from loom_logs.schemas import LogItem, LogPage, LogSearchQuery
from loom_logs.search import LogFilter, search_records

api = Blueprint("api", __name__, url_prefix="/api")


def _item(record: LogRecord) -> LogItem:
    return LogItem(
        id=record.id,
        time=record.time,
        level=record.level,
        level_no=record.level_no,
        service=record.service,
        env=record.env,
        host=record.host,
        logger=record.logger,
        function=record.function,
        line=record.line,
        process=record.process,
        thread=record.thread,
        message=record.message,
        request_id=record.request_id,
        exception=record.exception,
        fields=orjson.loads(record.fields or "{}"),
    )


@api.get("/logs")
@spec.validate(query=LogSearchQuery, resp=Response(HTTP_200=LogPage), tags=["logs"])
def search_logs(query: LogSearchQuery) -> LogPage:
    """Search stored log records, newest first, one page at a time."""
    try:
        after = decode_cursor(query.cursor) if query.cursor else None
    except InvalidCursor as error:
        raise ApiError(400, str(error), fields={"cursor": "not a cursor from this API"}) from None
    wanted = LogFilter(
        services=query.service,
        min_level_no=LEVEL_NUMBERS[query.level] if query.level else None,
        request_id=query.request_id,
        text=query.q,
        since=query.since,
        until=query.until,
    )
    with current_database().session() as session:
        page = search_records(session, wanted, limit=query.limit, after=after)
        items = [_item(record) for record in page.records]
    next_cursor = encode_cursor(page.next_position) if page.next_position else None
    return LogPage(items=items, next_cursor=next_cursor)
