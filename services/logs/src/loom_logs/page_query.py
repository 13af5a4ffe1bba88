"""The search page's query string: the API's filters as a browser form sends them.

A form sends every input, filled or not, so blank values are ignored rather than refused.
``last`` (15m, 1h, 24h, 7d) is a page-only shorthand for ``since`` = now minus that span;
an explicit ``since`` wins over it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

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


class BadFilters(ValueError):
    """``problems`` maps each bad parameter to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems.items()))
        self.problems = problems


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
    try:
        return LogSearchQuery.model_validate(values)
    except ValidationError as error:
        raise BadFilters(
            {
                ".".join(str(part) for part in problem["loc"]) or "query": problem["msg"]
                for problem in error.errors()
            }
        ) from None


def filter_pairs(args: MultiDict[str, str]) -> list[tuple[str, str]]:
    """The non-blank filter parameters of ``args``, in order, for links to the same search."""
    return [
        (name, value) for name in FILTER_PARAMS for value in args.getlist(name) if value.strip()
    ]


def query_string(pairs: Iterable[tuple[str, str]], **replaced: str) -> str:
    """``pairs`` with the ``replaced`` names set anew (an empty value drops the name)."""
    kept = [(name, value) for name, value in pairs if name not in replaced]
    kept.extend((name, value) for name, value in replaced.items() if value)
    return urlencode(kept)
