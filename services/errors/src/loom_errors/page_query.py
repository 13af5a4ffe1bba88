"""The issue list page's query string: the API's filters (:class:`IssueQuery`) as a browser
form sends them. A form sends every input, filled or not, so blank values are no filter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

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


class BadFilters(ValueError):
    """``problems`` maps each bad parameter to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems.items()))
        self.problems = problems


def read_issue_query(args: MultiDict[str, str]) -> IssueQuery:
    """The filters, sort, page size and cursor in ``args``; raises BadFilters naming each bad one."""
    values: dict[str, Any] = {
        name: args[name].strip() for name in IssueQuery.model_fields if args.get(name, "").strip()
    }
    try:
        return IssueQuery.model_validate(values)
    except ValidationError as error:
        raise BadFilters(
            {
                ".".join(str(part) for part in problem["loc"]) or "query": problem["msg"]
                for problem in error.errors()
            }
        ) from None


def filter_pairs(args: MultiDict[str, str]) -> list[tuple[str, str]]:
    """The non-blank filter parameters of ``args``, in order, for links to the same list."""
    return [(name, args[name].strip()) for name in FILTER_PARAMS if args.get(name, "").strip()]


def query_string(pairs: Iterable[tuple[str, str]], **replaced: str) -> str:
    """``pairs`` with the ``replaced`` names set anew (an empty value drops the name)."""
    kept = [(name, value) for name, value in pairs if name not in replaced]
    kept.extend((name, value) for name, value in replaced.items() if value)
    return urlencode(kept)
