"""The issue list page's query string: the API's filters (:class:`IssueQuery`) as a browser
form sends them. A form sends every input, filled or not, so blank values are no filter."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from loom_common.page_query import validate_filters
from loom_errors.schemas import IssueQuery

# What a link to "the same list" carries: every filter and the sort, not the page position.
FILTER_PARAMS = (
    "q",
    "status",
    "project",
    "environment",
    "release",
    "service",
    "level",
    "request_id",
    "sort",
    "limit",
)


def read_issue_query(args: MultiDict[str, str]) -> IssueQuery:
    """The filters, sort, page size and cursor in ``args``; raises BadFilters naming each bad one."""
    values: dict[str, Any] = {
        name: args[name].strip() for name in IssueQuery.model_fields if args.get(name, "").strip()
    }
    return validate_filters(IssueQuery, values)


def filter_pairs(args: MultiDict[str, str]) -> list[tuple[str, str]]:
    """The non-blank filter parameters of ``args``, in order, for links to the same list."""
    return [(name, args[name].strip()) for name in FILTER_PARAMS if args.get(name, "").strip()]
