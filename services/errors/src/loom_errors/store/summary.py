"""How an issue is labelled: its title and its culprit (where it happened)."""

from __future__ import annotations

from loom_errors.ingest.sentry_event import SentryEvent

TITLE_LENGTH = 255
CULPRIT_LENGTH = 255


def clip(text: str | None, length: int) -> str | None:
    """``text`` cut to ``length`` characters (ending in an ellipsis when cut)."""
    if text is None or len(text) <= length:
        return text
    return text[: length - 1] + "…"


def issue_title(event: SentryEvent) -> str:
    """``Type: value`` for an exception, else the message's first line."""
    raised = event.raised_exception()
    if raised is not None:
        kind = raised.type or "Error"
        value = (raised.value or "").strip()
        title = f"{kind}: {value}" if value else kind
    else:
        text = (event.message_text() or "").strip()
        title = text.splitlines()[0] if text else "<unlabeled event>"
    return clip(title, TITLE_LENGTH) or ""


def culprit(event: SentryEvent) -> str | None:
    """``module.function`` of the innermost in-app frame, else the transaction (route)."""
    raised = event.raised_exception()
    frames = raised.in_app_frames() if raised is not None else []
    if frames:
        frame = frames[-1]
        place = frame.module or frame.filename or "?"
        return clip(f"{place}.{frame.function or '?'}", CULPRIT_LENGTH)
    return clip(event.transaction, CULPRIT_LENGTH)
