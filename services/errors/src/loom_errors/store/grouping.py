"""Which issue an event belongs to: its fingerprint (grouping version 2).

Sentry's order:

- An explicit ``fingerprint`` list from the SDK wins; ``{{ default }}`` in it stands for the
  default components below.
- Otherwise the raised exception's type plus its in-app frames as ``module:function``; when
  no frame is in-app, all its frames. Line numbers are left out on purpose, so an edit above
  the failing line keeps the issue.
- An exception without a stack trace: its type plus its value with the variable parts masked.
- No exception: the message (its template when the SDK sent one), masked the same way.

Changing any rule here regroups events: bump :data:`GROUPING_VERSION` and keep the older
rules in :func:`issue_keys`, so that issues made under them keep matching their events.
Version 1 used the value (not the library frames) when no frame was in-app.
"""

from __future__ import annotations

import hashlib
import re

import orjson

from loom_errors.ingest.sentry_event import ExceptionValue, Frame, SentryEvent
from loom_errors.models import DEFAULT_PROJECT_ID

GROUPING_VERSION = 2

_DEFAULT_PLACEHOLDER = re.compile(r"^\{\{\s*default\s*\}\}$")
_UUID = (
    re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.I),
    "<uuid>",
)
_ADDRESS = (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>")
# Hex ids without 0x (object ids, hashes, request ids): 8+ hex digits mixing digits and letters.
_HEX_ID = (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), "<hex>")
_NUMBER = (re.compile(r"\d+(?:\.\d+)?"), "<num>")
_MASKS_V1 = [_UUID, _ADDRESS, _NUMBER]
_MASKS = [_UUID, _ADDRESS, _HEX_ID, _NUMBER]
_SPACES = re.compile(r"\s+")


def normalize_text(text: str, masks: list[tuple[re.Pattern[str], str]] = _MASKS) -> str:
    """Mask UUIDs, addresses, hex ids and numbers, and collapse whitespace."""
    for pattern, mask in masks:
        text = pattern.sub(mask, text)
    return _SPACES.sub(" ", text).strip()


def _frame_names(frames: list[Frame]) -> list[str]:
    return [f"{frame.module or frame.filename or '?'}:{frame.function or '?'}" for frame in frames]


def _all_frames(raised: ExceptionValue) -> list[Frame]:
    return raised.stacktrace.frames if raised.stacktrace is not None else []


def default_components(event: SentryEvent, version: int = GROUPING_VERSION) -> list[str]:
    raised = event.raised_exception()
    masks = _MASKS if version >= 2 else _MASKS_V1
    if raised is not None:
        kind = raised.type or "Error"
        frames = raised.in_app_frames()
        if not frames and version >= 2:
            frames = _all_frames(raised)
        if frames:
            return ["exception", kind, *_frame_names(frames)]
        return ["exception", kind, normalize_text(raised.value or "", masks)]
    return ["message", normalize_text(event.message_template() or "", masks)]


def grouping_components(event: SentryEvent, version: int = GROUPING_VERSION) -> list[str]:
    if not event.fingerprint:
        return default_components(event, version)
    components: list[str] = []
    for part in event.fingerprint:
        if _DEFAULT_PLACEHOLDER.match(part.strip()):
            components.extend(default_components(event, version))
        else:
            components.append(part)
    return components


def _key(components: list[str], project_id: int) -> str:
    # The default project keeps bare keys, so issues stored before projects existed still match.
    if project_id != DEFAULT_PROJECT_ID:
        components = ["project", str(project_id), *components]
    return hashlib.sha256(orjson.dumps(components)).hexdigest()


def fingerprint(event: SentryEvent, project_id: int = DEFAULT_PROJECT_ID) -> str:
    """The issue key under the current rules: sha256 (hex) of the grouping components."""
    return _key(grouping_components(event), project_id)


def issue_keys(event: SentryEvent, project_id: int = DEFAULT_PROJECT_ID) -> list[tuple[int, str]]:
    """(version, key) under each rule set still in use, newest first, without repeats."""
    keys: list[tuple[int, str]] = []
    for version in range(GROUPING_VERSION, 0, -1):
        key = _key(grouping_components(event, version), project_id)
        if all(key != known for _, known in keys):
            keys.append((version, key))
    return keys
