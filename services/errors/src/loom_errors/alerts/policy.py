"""When a stored event calls for an alert: the one place that decides it.

Three triggers, to each project's recipients: a new issue, a regression, and "more than
N events in M minutes" on one issue. A project without recipients never alerts.

The event batch asks :meth:`AlertRules.may_alert` while it stores (no counting, no extra
query), so the consumer skips the alert transaction for events that cannot alert;
:func:`trigger` then makes the full decision, counting the issue's recent events when a
threshold is set. Both are the same rules, so they cannot drift apart.

A cooldown per issue then suppresses a later trigger inside it (:func:`in_cooldown`); new
issues are always told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loom_errors.models import IssueMinute, Project, as_utc

if TYPE_CHECKING:  # the store imports this module to ask it; only the type goes back
    from loom_errors.store.event_batch import Stored


@dataclass(frozen=True)
class AlertRules:
    """A project's alert settings, as the decision needs them."""

    recipients: tuple[str, ...]
    threshold: tuple[int, int] | None  # (more than this many events, in this many minutes)

    @classmethod
    def of(cls, recipients: str, events: int | None, minutes: int | None) -> AlertRules:
        """From the project's columns: recipients as stored (a JSON list), the threshold pair."""
        threshold = (events, minutes) if events is not None and minutes is not None else None
        return cls(tuple(orjson.loads(recipients or "[]")), threshold)

    @classmethod
    def of_project(cls, project: Project) -> AlertRules:
        return cls.of(
            project.alert_recipients,
            project.alert_event_threshold,
            project.alert_threshold_minutes,
        )

    def may_alert(self, *, new_issue: bool, regression: bool) -> bool:
        """Whether an event stored with this outcome can alert, before anything is counted:
        with a threshold set any event may pass it."""
        return bool(self.recipients) and (new_issue or regression or self.threshold is not None)


def trigger(
    session: Session, rules: AlertRules, stored: Stored, now: datetime
) -> tuple[str, int | None] | None:
    """The alert this stored event calls for: ("new" | "regression", None), ("threshold",
    the issue's events in the window), or None."""
    if stored.duplicate:
        return None
    if not rules.may_alert(new_issue=stored.new_issue, regression=stored.regression):
        return None
    if stored.new_issue:
        return "new", None
    if stored.regression:
        return "regression", None
    return _threshold_passed(session, rules, stored.issue.id, now)


def _threshold_passed(
    session: Session, rules: AlertRules, issue_id: int, now: datetime
) -> tuple[str, int] | None:
    if rules.threshold is None:
        return None
    events, minutes = rules.threshold
    since = (now - timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    recent = session.scalar(
        select(func.coalesce(func.sum(IssueMinute.count), 0)).where(
            IssueMinute.issue_id == issue_id, IssueMinute.minute >= since
        )
    )
    recent = int(recent or 0)
    return ("threshold", recent) if recent > events else None


def in_cooldown(
    kind: str, last_alerted_at: datetime | None, now: datetime, cooldown: timedelta
) -> bool:
    """Whether an alert of ``kind`` is suppressed by the issue's last one (never a new issue)."""
    return (
        kind != "new" and last_alerted_at is not None and now - as_utc(last_alerted_at) < cooldown
    )
