"""The search page's query string: the API's filters as a browser form sends them.

A form sends every input, filled or not, so blank values are ignored rather than refused.
``last`` (15m, 1h, 24h, 7d) is a page-only shorthand for ``since`` = now minus that span;
an explicit ``since`` wins over it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict

from loom_common.page_query import BadFilters, validate_filters
from loom_logs.schemas import LogSearchQuery

RECENT_SPANS = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
_REPEATED = frozenset({"service", "field"})
# What a link to "the same search" carries: every filter, not the position in the results.
FILTER_PARAMS = ("q", "service", "level", "request_id", "field", "last", "since", "until")


def read_search_query(args: MultiDict[str, str], now: datetime) -> LogSearchQuery:
    """The filters, page size and cursor in ``args``; raises BadFilters naming each bad one."""
    values: dict[str, Any] = {}
    for name in LogSearchQuery.model_fields:
        if name in _REPEATED:
            given = [value for value in args.getlist(name) if value.strip()]
            if given:
                values[name] = given
        elif args.get(name, "").strip():
            values[name] = args[name].strip()
    last = args.get("last", "").strip()
    if last and "since" not in values:
        if last not in RECENT_SPANS:
            raise BadFilters({"last": f"expected one of {', '.join(RECENT_SPANS)}"})
        values["since"] = (now - RECENT_SPANS[last]).isoformat()
    return validate_filters(LogSearchQuery, values)


def filter_pairs(args: MultiDict[str, str]) -> list[tuple[str, str]]:
    """The non-blank filter parameters of ``args``, in order, for links to the same search."""
    return [
        (name, value) for name in FILTER_PARAMS for value in args.getlist(name) if value.strip()
    ]
