"""Between the API's models and the search's own: a stored row as the API shows it, the API's
filters as a search filter. The JSON API, live tail and the operator pages all use these, so
that a record and a filter mean the same on each (and none imports another's blueprint)."""

from __future__ import annotations

import orjson

from loom_logs.models import LogRow
from loom_logs.schemas import LogFilterQuery, LogItem
from loom_logs.search.query import LogFilter
from loom_logs.store.levels import LEVEL_NUMBERS


def log_item(record: LogRow) -> LogItem:
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


def log_filter(query: LogFilterQuery) -> LogFilter:
    return LogFilter(
        services=query.service,
        min_level_no=LEVEL_NUMBERS[query.level] if query.level else None,
        request_id=query.request_id,
        text=query.q,
        since=query.since,
        until=query.until,
        fields=query.field_pairs,
    )
