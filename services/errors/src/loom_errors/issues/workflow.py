"""An issue's status: unresolved, resolved, resolved_in_next_release, ignored.

Events reopen resolved issues as regressions (see ingest); this is the operator's side.
"""

from __future__ import annotations

from loom_errors.models import Issue, utcnow


def set_status(issue: Issue, status: str) -> None:
    issue.status = status
    if status in ("resolved", "resolved_in_next_release"):
        issue.resolved_at = utcnow()
        # The release running now: events of it are the old bug, not a regression.
        issue.resolved_in_release = issue.release if status == "resolved_in_next_release" else None
    else:
        issue.resolved_at = None
        issue.resolved_in_release = None
