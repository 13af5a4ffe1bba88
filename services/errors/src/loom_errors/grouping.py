"""Which issue an event belongs to: its fingerprint (grouping version 1).

- An explicit ``fingerprint`` list from the SDK wins; ``{{ default }}`` in it stands for the
  default components below.
- Otherwise the raised exception's type plus its in-app frames as ``module:function``. Line
  numbers are left out on purpose, so an edit above the failing line keeps the issue.
- An exception without in-app frames: its type plus its value with the variable parts masked.
- No exception: the message (its template when the SDK sent one), masked the same way.

Changing any rule here regroups events: bump :data:`GROUPING_VERSION` with it.
"""

from __future__ import annotations

import hashlib
import re

import orjson

from loom_errors.sentry_event import SentryEvent

GROUPING_VERSION = 1

_DEFAULT_PLACEHOLDER = re.compile(r"^\{\{\s*default\s*\}\}$")
_MASKS = [
    (
        re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<num>"),
]
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Mask UUIDs, hex addresses and numbers, and collapse whitespace."""
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return _SPACES.sub(" ", text).strip()


def default_components(event: SentryEvent) -> list[str]:
    raised = event.raised_exception()
    if raised is not None:
        kind = raised.type or "Error"
        frames = [
            f"{frame.module or frame.filename or '?'}:{frame.function or '?'}"
            for frame in raised.in_app_frames()
        ]
        if frames:
            return ["exception", kind, *frames]
        return ["exception", kind, normalize_text(raised.value or "")]
    return ["message", normalize_text(event.message_template() or "")]


def grouping_components(event: SentryEvent) -> list[str]:
    if not event.fingerprint:
        return default_components(event)
    components: list[str] = []
    for part in event.fingerprint:
        if _DEFAULT_PLACEHOLDER.match(part.strip()):
            components.extend(default_components(event))
        else:
            components.append(part)
    return components


def fingerprint(event: SentryEvent) -> str:
    """The issue key: sha256 (hex) of the grouping components."""
    return hashlib.sha256(orjson.dumps(grouping_components(event))).hexdigest()
