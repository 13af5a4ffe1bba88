"""What an alert email says: the issue, its counts, top in-app frames, environment, release, link."""

from __future__ import annotations

from typing import Any

import orjson

from loom_common.mail_headers import one_line
from loom_errors.models import Issue, Project, as_utc

KIND_LABELS = {
    "new": "New issue",
    "regression": "Regression",
    "threshold": "Frequent issue",
}
TOP_FRAMES = 5


def issue_link(base_url: str, issue: Issue) -> str:
    return f"{base_url}/issues/{issue.id}"


def top_in_app_frames(payload: str | None) -> list[str]:
    """The innermost in-app frames of the raised exception, innermost first."""
    if not payload:
        return []
    try:
        event: Any = orjson.loads(payload)
        values = event["exception"]
        values = values["values"] if isinstance(values, dict) else values
        frames = values[-1]["stacktrace"]["frames"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return []
    in_app = [frame for frame in frames if isinstance(frame, dict) and frame.get("in_app")]
    lines = []
    for frame in reversed(in_app[-TOP_FRAMES:]):
        place = frame.get("module") or frame.get("filename") or "?"
        where = f"{frame.get('filename') or '?'}:{frame.get('lineno') or '?'}"
        lines.append(f"  {place}.{frame.get('function') or '?'} ({where})")
    return lines


def alert_email(
    kind: str,
    project: Project,
    issue: Issue,
    latest_payload: str | None,
    base_url: str,
    recent: int | None = None,
) -> tuple[str, str]:
    """The subject and the plain-text body."""
    label = KIND_LABELS.get(kind, kind)
    subject = one_line(f"[{project.name}] {label}: {issue.title}")
    lines = [
        f"{label} in project {project.name}",
        "",
        issue.title,
        f"Culprit: {issue.culprit or '-'}",
        "",
        f"Events: {issue.count}" + (f" ({recent} in the alert window)" if recent else ""),
        f"Users affected: {issue.user_count}",
        f"First seen: {as_utc(issue.first_seen):%Y-%m-%d %H:%M:%S} UTC",
        f"Last seen: {as_utc(issue.last_seen):%Y-%m-%d %H:%M:%S} UTC",
        f"Environment: {issue.environment or '-'}",
        f"Release: {issue.release or '-'}",
        f"Service: {issue.service or '-'}",
    ]
    frames = top_in_app_frames(latest_payload)
    if frames:
        lines += ["", "Top in-app frames (innermost first):", *frames]
    lines += ["", f"Issue: {issue_link(base_url, issue)}"]
    return subject, "\n".join(lines) + "\n"


def digest_email(project: Project, held: list[tuple[str, Issue]], base_url: str) -> tuple[str, str]:
    """One email for the alerts held back while the project was over its hourly cap."""
    issues = {issue.id: issue for _, issue in held}
    subject = one_line(f"[{project.name}] Digest: {len(held)} alerts on {len(issues)} issues")
    lines = [
        f"Project {project.name} went over its alert cap; these alerts were held back:",
        "",
    ]
    for kind, issue in held:
        lines.append(
            f"- {KIND_LABELS.get(kind, kind)}: {issue.title} ({issue.count} events,"
            f" {issue.environment or '-'}, {issue.release or '-'}) {issue_link(base_url, issue)}"
        )
    return subject, "\n".join(lines) + "\n"
