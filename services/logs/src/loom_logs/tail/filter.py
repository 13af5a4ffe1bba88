"""The search filters, checked in Python against one new row, for live tail.

Text terms match as case-insensitive substrings of the message (search's index matches word
prefixes; for lines arriving live the difference is rarely visible, and this needs no index).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loom_logs.search.query import LogFilter
from loom_logs.search.text import parse_terms


@dataclass(frozen=True)
class TailRow:
    """One stored record as the tail sees it: what filters look at, and its event, encoded once."""

    id: int
    service: str | None
    level_no: int
    request_id: str | None
    message_folded: str
    time_seconds: float
    fields: dict[str, Any]
    event: bytes  # the whole SSE event for this record


class TailFilter:
    def __init__(self, wanted: LogFilter) -> None:
        self.wanted = wanted
        self.services = frozenset(wanted.services)
        self.terms = [term.casefold() for term, _ in parse_terms(wanted.text or "")]
        self.since = wanted.since.timestamp() if wanted.since else None
        self.until = wanted.until.timestamp() if wanted.until else None

    def matches(self, row: TailRow) -> bool:
        wanted = self.wanted
        if self.services and row.service not in self.services:
            return False
        if wanted.min_level_no is not None and row.level_no < wanted.min_level_no:
            return False
        if wanted.request_id is not None and row.request_id != wanted.request_id:
            return False
        if self.since is not None and row.time_seconds < self.since:
            return False
        if self.until is not None and row.time_seconds >= self.until:
            return False
        if any(term not in row.message_folded for term in self.terms):
            return False
        return all(
            name in row.fields and _as_text(row.fields[name]) == value
            for name, value in wanted.fields
        )


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
