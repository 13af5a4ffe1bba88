"""Loki's push API, JSON form, turned into records of the ``logs.ingest`` contract.

``{"streams": [{"stream": {label: value}, "values": [["<ns since epoch>", "<line>"], ...]}]}``
(Loki >= 0.4; the older ``{"labels": "{a=\\"b\\"}", "entries": [{"ts", "line"}]}`` form is read
too). Labels become the record's fields, except those naming a column: ``service`` (or
``service_name``, ``app``, ``job``), ``level`` (or ``severity``), ``host`` (or ``hostname``),
``logger``, ``env`` and ``request_id``. A third element of a value (structured metadata) is
merged into the fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from loom_logs.ingest.intake import Candidate
from loom_logs.store.records import RecordRejected

_COLUMN_LABELS = {
    "service": "service",
    "service_name": "service",
    "app": "service",
    "job": "service",
    "level": "level",
    "severity": "level",
    "detected_level": "level",
    "host": "host",
    "hostname": "host",
    "logger": "logger",
    "env": "env",
    "request_id": "request_id",
}
_LEVEL_ALIASES = {
    "warn": "WARNING",
    "err": "ERROR",
    "crit": "CRITICAL",
    "fatal": "CRITICAL",
    "panic": "CRITICAL",
    "emerg": "CRITICAL",
    "alert": "CRITICAL",
    "notice": "INFO",
    "informational": "INFO",
    "dbg": "DEBUG",
}
_LABEL_PAIR = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _level(value: str) -> str:
    return _LEVEL_ALIASES.get(value.lower(), value.upper())


def parse_label_string(text: str) -> dict[str, str]:
    """``{a="b", c="d"}`` (the old push form) as a dict; raises ValueError if it is not one."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError('labels must look like {name="value"}')
    body = body[1:-1]
    labels: dict[str, str] = {}
    position = 0
    while position < len(body.rstrip()):
        match = _LABEL_PAIR.match(body, position)
        if match is None:
            raise ValueError('labels must look like {name="value"}')
        labels[match.group(1)] = re.sub(r"\\(.)", r"\1", match.group(2))
        position = match.end()
    return labels


def _nanoseconds_to_iso(value: Any) -> str:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordRejected("invalid_time", "a Loki timestamp is nanoseconds, as a string")
    try:
        return datetime.fromtimestamp(value / 1e9, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        raise RecordRejected("invalid_time", "timestamp out of range") from None


def _base_record(labels: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"fields": {}}
    for name, value in labels.items():
        column = _COLUMN_LABELS.get(name)
        if column is None or column in record:
            record["fields"][name] = value
        elif column == "level":
            record["level"] = _level(str(value))
        else:
            record[column] = str(value)
    return record


def _entry(base: dict[str, Any], time: Any, line: Any, metadata: Any = None) -> Candidate:
    # The lines of a stream share its fields dict: copying the labels onto each line is what
    # turned a small push into gigabytes. Only a line with metadata of its own gets a copy.
    try:
        record = {**base, "time": _nanoseconds_to_iso(time)}
        if not isinstance(line, str):
            raise RecordRejected("invalid_message", "a Loki line is a string")
        record["message"] = line
        if isinstance(metadata, dict) and metadata:
            record["fields"] = {**base["fields"], **metadata}
        return record
    except RecordRejected as rejection:
        return rejection


def _old_entry(base: dict[str, Any], entry: Any) -> Candidate:
    if not isinstance(entry, dict):
        return RecordRejected("not_a_dict", "an entry is an object with ts and line")
    timestamp = entry.get("ts")
    try:
        moment = datetime.fromisoformat(str(timestamp))
    except ValueError:
        return RecordRejected("invalid_time", "ts must be an RFC 3339 time")
    nanoseconds = int(moment.timestamp() * 1e9) if moment.tzinfo else None
    if nanoseconds is None:
        return RecordRejected("invalid_time", "ts needs an offset")
    return _entry(base, nanoseconds, entry.get("line"))


def loki_candidates(payload: Any) -> Iterator[Candidate]:
    """One candidate per log line of the push body; a bad stream rejects only its lines."""
    streams = payload.get("streams") if isinstance(payload, dict) else None
    if not isinstance(streams, list):
        yield RecordRejected("invalid_streams", 'the body must be {"streams": [...]}')
        return
    for stream in streams:
        if not isinstance(stream, dict):
            yield RecordRejected("invalid_stream", "a stream is an object")
            continue
        labels: Any = stream.get("stream")
        if labels is None and isinstance(stream.get("labels"), str):
            try:
                labels = parse_label_string(stream["labels"])
            except ValueError as error:
                yield RecordRejected("invalid_labels", str(error))
                continue
        if not isinstance(labels, dict):
            labels = {}
        base = _base_record(labels)
        if isinstance(stream.get("values"), list):
            for value in stream["values"]:
                if not isinstance(value, list) or len(value) not in (2, 3):
                    yield RecordRejected("invalid_value", 'a value is ["<ns>", "<line>"]')
                    continue
                yield _entry(base, *value)
        elif isinstance(stream.get("entries"), list):
            for entry in stream["entries"]:
                yield _old_entry(base, entry)
        else:
            yield RecordRejected("invalid_stream", "a stream needs values")
