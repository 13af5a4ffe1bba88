"""Storing many events in one transaction: a few statements per batch, not a dozen per event.

:func:`prepare_event` does the per-event work that needs no database (validation, grouping
keys, title, scrubbing, the JSON payload), so a caller can run it before taking a batch's
transaction. :func:`store_batch` then, in the caller's session:

- skips event ids stored already or repeated in the batch (idempotent: ``duplicate``);
- finds each event's issue (current grouping rules, else an older version's key) and creates
  the missing ones (``INSERT .. ON CONFLICT DO NOTHING``: a concurrent consumer may win);
- inserts the events, the affected users, the per-minute and per-facet counts in one
  statement each, with counts summed per issue, minute and facet;
- moves each issue in one ``UPDATE`` (count, first and last seen, the latest event's
  summary, a regression) computed in SQL, so concurrent consumers never lose a count;
- trims each issue's stored events once.

The outcome per event is what storing it alone, in order, would have said (new issue,
regression, duplicate), so alerts are decided as before.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import (
    Boolean,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from loom_common.scrubbing import scrub_event, scrub_text
from loom_errors.alerts.policy import AlertRules
from loom_errors.ingest.sentry_event import SentryEvent, parse_event
from loom_errors.metrics import EVENTS_TRIMMED
from loom_errors.models import (
    DEFAULT_PROJECT_ID,
    Event,
    Issue,
    IssueFacet,
    IssueMinute,
    IssueUser,
    Project,
)
from loom_errors.store.grouping import GROUPING_VERSION, issue_keys
from loom_errors.store.summary import clip, culprit, issue_title

_RESOLVED = ("resolved", "resolved_in_next_release")


@dataclass(frozen=True)
class Stored:
    """What storing one event did: alerts are decided from it."""

    issue: Issue
    new_issue: bool = False
    regression: bool = False
    duplicate: bool = False
    # False when no alert can follow, by the project's alert settings at commit (no
    # recipients, or no threshold and nothing new; see loom_errors.alerts.policy): the consumer
    # skips the alert transaction.
    may_alert: bool = True


@dataclass
class PreparedEvent:
    """One valid event, ready to store: everything computed that needs no database."""

    event: SentryEvent
    project_id: int  # as sent; an unknown project becomes the default one when stored
    keys: list[tuple[int, str]]  # (grouping version, issue key) for the sent project
    latest_fields: dict[str, Any]  # the issue columns describing this event
    facet: dict[str, str]
    user_key: str | None
    request_id: str | None
    payload: str  # scrubbed JSON


def _service(event: SentryEvent) -> str | None:
    return clip(event.tags.get("service") or event.server_name, 64)


def prepare_event(raw: Any, project_id: int | None = None) -> PreparedEvent:
    """Validate, group and scrub one event; raise MalformedEvent for an unusable one."""
    event = parse_event(raw)
    project_id = project_id or DEFAULT_PROJECT_ID
    service = _service(event)
    environment = clip(event.environment, 64)
    release = clip(event.release, 200)
    where = culprit(event)
    return PreparedEvent(
        event=event,
        project_id=project_id,
        keys=issue_keys(event, project_id),
        latest_fields={
            "last_event_id": event.event_id,
            # The title and culprit are stored on the issue and mailed in alerts: scrubbed too.
            "title": scrub_text(issue_title(event)),
            "culprit": scrub_text(where) if where else where,
            "level": event.level,
            "service": service,
            "environment": environment,
            "release": release,
        },
        facet={
            "environment": environment or "",
            "release": release or "",
            "service": service or "",
            "level": event.level,
        },
        user_key=event.user.key() if event.user is not None else None,
        request_id=clip(event.tags.get("request_id"), 128),
        payload=orjson.dumps(scrub_event(raw), default=str).decode(),
    )


def _occurred_at(event: SentryEvent, received_at: datetime) -> datetime:
    # A client clock ahead of ours must not push last_seen into the future.
    if event.timestamp is None or event.timestamp > received_at:
        return received_at
    return event.timestamp


def _dialect_insert(session: Session) -> Any:
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# An issue is named by its project and its key: keys are unique per project only, so
# that no fingerprint a client sends can reach another project's issue.
IssueName = tuple[int, str]


@dataclass
class _Pending:
    """An event of the batch to store, and where it goes."""

    index: int  # its place in the batch
    prepared: PreparedEvent
    seen_at: datetime
    project_id: int
    key: str = ""  # the issue key it is stored under
    issue_id: int = 0

    @property
    def issue_name(self) -> IssueName:
        return (self.project_id, self.key)


def _issues_by_name(session: Session, names: set[IssueName]) -> dict[IssueName, Issue]:
    if not names:
        return {}
    found = session.scalars(
        select(Issue).where(tuple_(Issue.project_id, Issue.fingerprint).in_(sorted(names)))
    )
    return {(issue.project_id, issue.fingerprint): issue for issue in found}


def _issue_for(pending: _Pending, known: dict[IssueName, Issue]) -> Issue | None:
    """The project's issue under the current rules, else one made under older rules it matches."""
    for version, key in _keys_for(pending):
        issue = known.get((pending.project_id, key))
        if issue is not None and (version == GROUPING_VERSION or issue.grouping_version == version):
            return issue
    return None


def _keys_for(pending: _Pending) -> list[tuple[int, str]]:
    """The event's keys under the project it is stored in (an unknown one became the default)."""
    if pending.project_id == pending.prepared.project_id:
        return pending.prepared.keys
    return issue_keys(pending.prepared.event, pending.project_id)


def _create_issues(
    session: Session, first_events: dict[IssueName, _Pending], known: dict[IssueName, Issue]
) -> set[IssueName]:
    """Insert an issue per name (count 0: the batch's UPDATE counts it); the names we created."""
    rows = [
        {
            "project_id": project_id,
            "fingerprint": key,
            "grouping_version": GROUPING_VERSION,
            "status": "unresolved",
            "count": 0,
            "user_count": 0,
            "first_seen": pending.seen_at,
            "last_seen": pending.seen_at,
            **pending.prepared.latest_fields,
        }
        for (project_id, key), pending in sorted(first_events.items())  # one lock order for all
    ]
    created: set[IssueName] = {
        (project_id, key)
        for project_id, key in session.execute(
            _dialect_insert(session)(Issue)
            .on_conflict_do_nothing(index_elements=["project_id", "fingerprint"])
            .returning(Issue.project_id, Issue.fingerprint),
            rows,
        )
    }
    known.update(_issues_by_name(session, set(first_events)))  # ours, and any a rival made
    return created


def _issue_update() -> Any:
    """One UPDATE adding a group of events to its issue, all in SQL, with bound parameters.

    Built once (and compiled once): per issue only the parameters change, and the issues of
    a batch are updated with one executemany. Concurrent consumers never lose a count: each
    value is computed from the row as it is when the UPDATE runs. The event summary follows
    the group's latest event only if it is at least as recent as the issue's last one.

    A resolved issue is reopened (a regression); ``resolved_in_next_release`` only by an
    event of another release than the one running when it was resolved (``b_mixed``: the
    group holds several releases, so at least one differs).
    """
    # Core columns: an executemany UPDATE, without the ORM's bulk-by-primary-key semantics.
    table = cast(Table, Issue.__table__)
    column = table.c

    def parameter(name: str, like: str) -> Any:
        return bindparam(f"b_{name}", type_=column[like].type)

    is_latest = column.last_seen <= parameter("last_seen", "last_seen")
    reopens = or_(
        column.status == "resolved",
        and_(
            column.status == "resolved_in_next_release",
            or_(
                bindparam("b_mixed", type_=Boolean()),
                func.coalesce(column.resolved_in_release, "")
                != parameter("release_all", "release"),
            ),
        ),
    )
    values: dict[str, Any] = {
        name: case((is_latest, parameter(name, name)), else_=column[name])
        for name in _LATEST_FIELDS
    }
    values.update(
        count=column["count"] + bindparam("b_count", type_=Integer()),
        user_count=column.user_count + bindparam("b_new_users", type_=Integer()),
        first_seen=case(
            (
                column.first_seen > parameter("first_seen", "first_seen"),
                parameter("first_seen", "first_seen"),
            ),
            else_=column.first_seen,
        ),
        last_seen=case((is_latest, parameter("last_seen", "last_seen")), else_=column.last_seen),
        regressed_at=case(
            (reopens, parameter("regressed_at", "regressed_at")), else_=column.regressed_at
        ),
        status=case((reopens, "unresolved"), else_=column.status),
    )
    return update(table).where(column.id == bindparam("b_id", type_=Integer())).values(**values)


_LATEST_FIELDS = ("last_event_id", "title", "culprit", "level", "service", "environment", "release")
_ISSUE_UPDATE = _issue_update()


def _reopening_event(issue: Issue, group: list[_Pending]) -> _Pending | None:
    """The first event of the group that reopens the issue, as loaded (None if none does)."""
    if issue.status == "resolved":
        return group[0]
    if issue.status == "resolved_in_next_release":
        old_release = issue.resolved_in_release or ""
        for pending in group:
            if pending.prepared.facet["release"] != old_release:
                return pending
    return None


def _update_parameters(
    issue_id: int, group: list[_Pending], new_users: int, reopening: _Pending | None
) -> dict[str, Any]:
    latest = group[0]
    for pending in group:  # the most recent; of equals the later one, as one by one would
        if pending.seen_at >= latest.seen_at:
            latest = pending
    releases = {pending.prepared.facet["release"] for pending in group}
    parameters = {f"b_{name}": latest.prepared.latest_fields[name] for name in _LATEST_FIELDS}
    parameters.update(
        b_id=issue_id,
        b_count=len(group),
        b_new_users=new_users,
        b_first_seen=min(pending.seen_at for pending in group),
        b_last_seen=latest.seen_at,
        b_regressed_at=(reopening or group[0]).seen_at,
        b_mixed=len(releases) > 1,
        b_release_all=next(iter(releases)),
    )
    return parameters


def _count_on_issues(
    session: Session,
    issues: dict[int, Issue],
    groups: dict[int, list[_Pending]],
    new_users: Counter[int],
) -> set[int]:
    """Add each group to its issue; the batch indexes of the events that were regressions."""
    connection = session.connection()
    plain: list[dict[str, Any]] = []
    regressions: set[int] = set()
    for issue_id, group in sorted(groups.items()):
        issue = issues[issue_id]
        reopening = _reopening_event(issue, group)
        parameters = _update_parameters(issue_id, group, new_users[issue_id], reopening)
        if issue.status not in _RESOLVED:
            plain.append(parameters)
            continue
        # Rare: see whether this UPDATE is the one that reopened it.
        status = connection.execute(
            _ISSUE_UPDATE.returning(Issue.__table__.c.status), parameters
        ).scalar()
        if status == "unresolved":
            regressions.add((reopening or group[0]).index)
    if plain:
        # In issue order: two consumers updating the same issues take their locks alike.
        plain.sort(key=lambda parameters: parameters["b_id"])
        connection.execute(_ISSUE_UPDATE, plain)
    return regressions


def _new_users(session: Session, pending: list[_Pending]) -> Counter[int]:
    """Insert the batch's (issue, user) pairs not known yet; how many were new, per issue."""
    pairs = {(each.issue_id, each.prepared.user_key) for each in pending if each.prepared.user_key}
    if not pairs:
        return Counter()
    # RETURNING, not rowcount: psycopg reports 1 for a row ON CONFLICT skipped.
    added = session.scalars(
        _dialect_insert(session)(IssueUser)
        .on_conflict_do_nothing(index_elements=["issue_id", "user_key"])
        .returning(IssueUser.issue_id),
        [{"issue_id": issue_id, "user_key": key} for issue_id, key in sorted(pairs)],
    )
    return Counter(added)


def _count_minutes(session: Session, pending: list[_Pending]) -> None:
    counts = Counter(
        (each.issue_id, each.seen_at.replace(second=0, microsecond=0)) for each in pending
    )
    statement = _dialect_insert(session)(IssueMinute)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["issue_id", "minute"],
            set_={"count": IssueMinute.count + statement.excluded.count},
        ),
        [
            {"issue_id": issue_id, "minute": minute, "count": count}
            for (issue_id, minute), count in sorted(counts.items())
        ],
    )


def _count_facets(session: Session, pending: list[_Pending]) -> None:
    facets: dict[tuple[Any, ...], dict[str, Any]] = {}
    for each in pending:
        name = (each.issue_id, *each.prepared.facet.values())
        row = facets.get(name)
        if row is None:
            facets[name] = {
                "issue_id": each.issue_id,
                **each.prepared.facet,
                "count": 1,
                "first_seen": each.seen_at,
                "last_seen": each.seen_at,
            }
        else:
            row["count"] += 1
            row["first_seen"] = min(row["first_seen"], each.seen_at)
            row["last_seen"] = max(row["last_seen"], each.seen_at)
    statement = _dialect_insert(session)(IssueFacet)
    excluded = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["issue_id", "environment", "release", "service", "level"],
            set_={
                "count": IssueFacet.count + excluded.count,
                "first_seen": case(
                    (excluded.first_seen < IssueFacet.first_seen, excluded.first_seen),
                    else_=IssueFacet.first_seen,
                ),
                "last_seen": case(
                    (excluded.last_seen > IssueFacet.last_seen, excluded.last_seen),
                    else_=IssueFacet.last_seen,
                ),
            },
        ),
        [facets[name] for name in sorted(facets)],
    )


def _insert_events(session: Session, pending: list[_Pending], received_at: datetime) -> None:
    session.execute(
        insert(Event),
        [
            {
                "event_id": each.prepared.event.event_id,
                "issue_id": each.issue_id,
                "received_at": received_at,
                "timestamp": each.seen_at,
                "level": each.prepared.event.level,
                "service": each.prepared.latest_fields["service"],
                "environment": each.prepared.latest_fields["environment"],
                "release": each.prepared.latest_fields["release"],
                "request_id": each.prepared.request_id,
                "payload": each.prepared.payload,
            }
            for each in pending
        ],
    )


def trim_events(session: Session, issue: Issue, keep_latest: int) -> None:
    """Keep the issue's first event and its latest ``keep_latest``; delete the rest."""
    if issue.count <= keep_latest + 1:
        return
    order = (Event.timestamp, Event.id)
    first = select(Event.id).where(Event.issue_id == issue.id).order_by(*order).limit(1)
    latest = (
        select(Event.id)
        .where(Event.issue_id == issue.id)
        .order_by(*(column.desc() for column in order))
        .limit(keep_latest)
    )
    kept = [*session.scalars(first), *session.scalars(latest)]
    trimmed = session.execute(
        delete(Event)
        .where(Event.issue_id == issue.id, Event.id.not_in(kept))
        .execution_options(synchronize_session=False)
    )
    EVENTS_TRIMMED.inc(trimmed.rowcount)  # type: ignore[attr-defined]


def store_batch(
    session: Session,
    batch: list[PreparedEvent],
    *,
    received_at: datetime,
    keep_latest: int,
) -> list[Stored]:
    """Store the prepared events in the caller's transaction; one outcome per event, in order.

    Raises ``IntegrityError`` when another transaction stored one of these events first
    (retry the batch in a new transaction: those events are duplicates then).
    """
    stored_before = _stored_before(session, batch)
    rules = _alert_rules(session, batch)
    fresh, duplicate_of = _split_duplicates(batch, stored_before, set(rules), received_at)
    issues = _find_or_create_issues(session, fresh)
    groups: dict[int, list[_Pending]] = defaultdict(list)
    for pending in fresh:
        pending.issue_id = issues.known[pending.issue_name].id
        groups[pending.issue_id].append(pending)
    regressions = _add_events(session, fresh, groups, issues.known, received_at) if fresh else set()

    loaded = _reload_issues(session, set(groups) | set(stored_before.values()))
    for issue_id in groups:
        trim_events(session, loaded[issue_id], keep_latest)

    outcomes: dict[int, Stored] = {}
    for pending in fresh:
        new_issue = issues.is_first_of_new(pending)
        regression = pending.index in regressions
        project_rules = rules.get(pending.project_id)
        outcomes[pending.index] = Stored(
            loaded[pending.issue_id],
            new_issue=new_issue,
            regression=regression,
            # Unknown rules (a project gone since): let alert_on decide.
            may_alert=project_rules is None
            or project_rules.may_alert(new_issue=new_issue, regression=regression),
        )
    stored_now = {pending.prepared.event.event_id: pending.issue_id for pending in fresh}
    for index, event_id in duplicate_of.items():
        issue_id = stored_before.get(event_id) or stored_now[event_id]
        outcomes[index] = Stored(loaded[issue_id], duplicate=True)
    return [outcomes[index] for index in range(len(batch))]


def _stored_before(session: Session, batch: list[PreparedEvent]) -> dict[str, int]:
    """The batch's event ids stored already, with their issue."""
    ids = {prepared.event.event_id for prepared in batch}
    return {
        event_id: issue_id
        for event_id, issue_id in session.execute(
            select(Event.event_id, Event.issue_id).where(Event.event_id.in_(ids))
        )
    }


def _alert_rules(session: Session, batch: list[PreparedEvent]) -> dict[int, AlertRules]:
    """The alert rules of the batch's projects that exist (and of the default project)."""
    wanted = {prepared.project_id for prepared in batch} | {DEFAULT_PROJECT_ID}
    return {
        project_id: AlertRules.of(recipients, threshold, minutes)
        for project_id, recipients, threshold, minutes in session.execute(
            select(
                Project.id,
                Project.alert_recipients,
                Project.alert_event_threshold,
                Project.alert_threshold_minutes,
            ).where(Project.id.in_(wanted))
        )
    }


def _split_duplicates(
    batch: list[PreparedEvent],
    stored_before: dict[str, int],
    projects: set[int],
    received_at: datetime,
) -> tuple[list[_Pending], dict[int, str]]:
    """The events to store, and the duplicates: batch index -> event id stored before or
    earlier in this batch."""
    fresh: list[_Pending] = []
    duplicate_of: dict[int, str] = {}
    taken: set[str] = set()
    for index, prepared in enumerate(batch):
        event_id = prepared.event.event_id
        if event_id in stored_before or event_id in taken:
            duplicate_of[index] = event_id
            continue
        taken.add(event_id)
        # A project deleted while its events were queued: they go to the default project.
        project_id = prepared.project_id if prepared.project_id in projects else DEFAULT_PROJECT_ID
        fresh.append(
            _Pending(index, prepared, _occurred_at(prepared.event, received_at), project_id)
        )
    return fresh, duplicate_of


@dataclass
class _BatchIssues:
    """The issues the batch's events go to, and which of them this batch created."""

    known: dict[IssueName, Issue]
    first_of_new: dict[IssueName, _Pending]  # the event that called for each missing issue
    created: set[IssueName]  # the missing issues this transaction inserted (not a rival)

    def is_first_of_new(self, pending: _Pending) -> bool:
        name = pending.issue_name
        return name in self.created and self.first_of_new[name] is pending


def _find_or_create_issues(session: Session, fresh: list[_Pending]) -> _BatchIssues:
    """Give each event its issue key, creating the issues that do not exist yet."""
    known = _issues_by_name(
        session,
        {(pending.project_id, key) for pending in fresh for _, key in _keys_for(pending)},
    )
    first_of_new: dict[IssueName, _Pending] = {}
    for pending in fresh:
        issue = _issue_for(pending, known)
        pending.key = issue.fingerprint if issue else _keys_for(pending)[0][1]
        if issue is None:
            first_of_new.setdefault(pending.issue_name, pending)
    created = _create_issues(session, first_of_new, known) if first_of_new else set()
    return _BatchIssues(known, first_of_new, created)


def _add_events(
    session: Session,
    fresh: list[_Pending],
    groups: dict[int, list[_Pending]],
    known: dict[IssueName, Issue],
    received_at: datetime,
) -> set[int]:
    """Insert the events and count them (users, minutes, facets, issues); the batch indexes
    of the events that were regressions."""
    _insert_events(session, fresh, received_at)
    new_users = _new_users(session, fresh)
    _count_minutes(session, fresh)
    _count_facets(session, fresh)
    loaded = {issue_id: known[group[0].issue_name] for issue_id, group in groups.items()}
    return _count_on_issues(session, loaded, groups, new_users)


def _reload_issues(session: Session, issue_ids: set[int]) -> dict[int, Issue]:
    """The issues as the batch's UPDATEs left them (the ORM's copies are stale)."""
    return {
        issue.id: issue
        for issue in session.scalars(
            select(Issue).where(Issue.id.in_(issue_ids)).execution_options(populate_existing=True)
        )
    }
