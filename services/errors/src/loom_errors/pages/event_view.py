"""What the issue page shows of one stored event: its exception chain and frames, request,
tags, breadcrumbs, user and message.

Stored payloads are whatever SDKs sent (scrubbed), so every part is read defensively: a
missing or oddly shaped part is left out, never an error. Values come back as plain text for
the templates to escape; nothing here builds markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

# Python's own words for the links of a chain (sentry-sdk sets mechanism.source).
_CHAIN_LINKS = {
    "__cause__": "which was the direct cause of the exception above",
    "__context__": "during whose handling the exception above was raised",
}


def text(value: Any) -> str:
    """Strings as they are; anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def _pairs(value: Any) -> list[tuple[str, str]]:
    """A dict or a list of ``[key, value]`` pairs (headers, tags), as text pairs."""
    if isinstance(value, dict):
        return [(str(key), text(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [
            (str(pair[0]), text(pair[1]))
            for pair in value
            if isinstance(pair, list | tuple) and len(pair) == 2
        ]
    return []


def _values(value: Any) -> list[dict[str, Any]]:
    """``{"values": [...]}`` or a bare list (both are sent), keeping only the objects."""
    if isinstance(value, dict):
        value = value.get("values")
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


@dataclass(frozen=True)
class ContextLine:
    lineno: int | None
    code: str
    current: bool


@dataclass(frozen=True)
class FrameView:
    position: int  # 1 is the outermost call
    function: str
    location: str  # module (or file) and line
    in_app: bool
    context: list[ContextLine]
    local_vars: list[tuple[str, str]]


@dataclass(frozen=True)
class ExceptionView:
    type: str
    value: str
    module: str
    handled: bool | None
    link: str  # how it relates to the exception shown before it; "" for the raised one
    app_frames: list[FrameView]  # most recent call first
    library_frames: list[FrameView]  # most recent call first
    frame_count: int


@dataclass(frozen=True)
class RequestView:
    method: str
    url: str
    query: str
    headers: list[tuple[str, str]]
    data: str


@dataclass(frozen=True)
class BreadcrumbView:
    time: str
    category: str
    level: str
    message: str
    data: str


@dataclass(frozen=True)
class EventView:
    message: str
    exceptions: list[ExceptionView]  # the raised one first, then what led to it
    request: RequestView | None
    tags: list[tuple[str, str]]
    user: list[tuple[str, str]]
    breadcrumbs: list[BreadcrumbView]
    contexts: list[tuple[str, str]] = field(default_factory=list)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _context(frame: dict[str, Any]) -> list[ContextLine]:
    lineno = _int(frame.get("lineno"))
    before = [line for line in frame.get("pre_context") or [] if isinstance(line, str)]
    after = [line for line in frame.get("post_context") or [] if isinstance(line, str)]
    current = frame.get("context_line")
    if not isinstance(current, str):
        return []

    def number(offset: int) -> int | None:
        return lineno + offset if lineno is not None else None

    return [
        *(ContextLine(number(i - len(before)), line, False) for i, line in enumerate(before)),
        ContextLine(lineno, current, True),
        *(ContextLine(number(i + 1), line, False) for i, line in enumerate(after)),
    ]


def _frame(frame: dict[str, Any], position: int, in_app: bool) -> FrameView:
    place = text(frame.get("module") or frame.get("filename") or frame.get("abs_path")) or "?"
    lineno = _int(frame.get("lineno"))
    return FrameView(
        position=position,
        function=text(frame.get("function")) or "?",
        location=f"{place}:{lineno}" if lineno is not None else place,
        in_app=in_app,
        context=_context(frame),
        local_vars=_pairs(frame.get("vars")),
    )


def _exception(value: dict[str, Any], link: str) -> ExceptionView:
    stacktrace = value.get("stacktrace")
    raw_frames = _values(stacktrace.get("frames") if isinstance(stacktrace, dict) else None)
    # Without any frame marked in-app (an SDK that does not say), hide none of them.
    marked = any(frame.get("in_app") is True for frame in raw_frames)
    frames = [
        _frame(frame, position, in_app=not marked or frame.get("in_app") is True)
        for position, frame in enumerate(raw_frames, start=1)
    ]
    newest_first = list(reversed(frames))
    mechanism = value.get("mechanism")
    handled = mechanism.get("handled") if isinstance(mechanism, dict) else None
    return ExceptionView(
        type=text(value.get("type")) or "Error",
        value=text(value.get("value")),
        module=text(value.get("module")),
        handled=handled if isinstance(handled, bool) else None,
        link=link,
        app_frames=[frame for frame in newest_first if frame.in_app],
        library_frames=[frame for frame in newest_first if not frame.in_app],
        frame_count=len(frames),
    )


def _chain(payload: dict[str, Any]) -> list[ExceptionView]:
    """Sentry lists a chain oldest first, the raised exception last; shown the other way."""
    values = list(reversed(_values(payload.get("exception"))))
    chain = []
    for index, value in enumerate(values):
        link = ""
        if index > 0:
            mechanism = value.get("mechanism")
            source = mechanism.get("source") if isinstance(mechanism, dict) else None
            if text(source).startswith("exceptions["):
                link = "one of the exceptions of the group above"
            else:
                link = _CHAIN_LINKS.get(text(source), "which led to the exception above")
        chain.append(_exception(value, link))
    return chain


def _request(payload: dict[str, Any]) -> RequestView | None:
    request = payload.get("request")
    if not isinstance(request, dict):
        return None
    query = request.get("query_string")
    return RequestView(
        method=text(request.get("method")),
        url=text(request.get("url")),
        query=text(query)
        if isinstance(query, str)
        else "&".join(f"{name}={value}" for name, value in _pairs(query)),
        headers=_pairs(request.get("headers")),
        data=text(request.get("data")),
    )


def _breadcrumb_time(value: Any) -> str:
    """Breadcrumb times come as RFC 3339 text or epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC).strftime("%H:%M:%S.%f")[:-3]
        except (OverflowError, OSError, ValueError):
            return text(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return moment.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]
    return ""


def _breadcrumbs(payload: dict[str, Any]) -> list[BreadcrumbView]:
    return [
        BreadcrumbView(
            time=_breadcrumb_time(crumb.get("timestamp")),
            category=text(crumb.get("category") or crumb.get("type")),
            level=text(crumb.get("level")) or "info",
            message=text(crumb.get("message")),
            data=text(crumb.get("data")) if crumb.get("data") else "",
        )
        for crumb in _values(payload.get("breadcrumbs"))
    ]


def _message(payload: dict[str, Any]) -> str:
    for source in (payload.get("logentry"), payload.get("message")):
        if isinstance(source, dict):
            found = source.get("formatted") or source.get("message")
            if found:
                return text(found)
        elif source:
            return text(source)
    return ""


def _contexts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """Runtime, OS, trace...: one line each (``name.key = value``)."""
    contexts = payload.get("contexts")
    if not isinstance(contexts, dict):
        return []
    lines = []
    for name, values in contexts.items():
        for key, value in _pairs(values):
            if key != "type" and value:
                lines.append((f"{name}.{key}", value))
    return lines


def event_view(payload: Any) -> EventView:
    """The parts of a stored event the issue page shows."""
    if not isinstance(payload, dict):
        payload = {}
    user = payload.get("user")
    return EventView(
        message=_message(payload),
        exceptions=_chain(payload),
        request=_request(payload),
        tags=sorted(_pairs(payload.get("tags"))),
        user=_pairs(user) if isinstance(user, dict) else [],
        breadcrumbs=_breadcrumbs(payload),
        contexts=_contexts(payload),
    )
