"""Bounds on a Loki push body, checked on the decoded JSON before any record is built.

A stream's labels are copied onto every line of the stream, so a small body of one stream with
thousands of labels and thousands of lines would become gigabytes of records. The lines are
counted across all streams (the same ``max_records_per_request`` as every HTTP input), each
stream's labels are bounded in number and size, and so are the label bytes the records would
carry in all. A push past a bound is refused whole, naming the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loom_logs.config import LogsConfig
from loom_logs.ingest.bodies import IngestRefused, check_record_count
from loom_logs.ingest.loki import parse_label_string


@dataclass(frozen=True)
class LokiLimits:
    max_records: int
    max_labels_per_stream: int
    max_name_bytes: int
    max_value_bytes: int
    max_label_bytes_per_request: int

    @classmethod
    def from_config(cls, config: LogsConfig) -> LokiLimits:
        return cls(
            max_records=config.max_records_per_request,
            max_labels_per_stream=config.loki_max_labels_per_stream,
            max_name_bytes=config.loki_max_label_name_bytes,
            max_value_bytes=config.loki_max_label_value_bytes,
            max_label_bytes_per_request=config.loki_max_label_bytes_per_request,
        )

    @property
    def max_label_string_chars(self) -> int:
        # The old push form's ``{name="value", ...}``: every label at its longest, quoted.
        return self.max_labels_per_stream * (self.max_name_bytes + self.max_value_bytes + 5) + 2


def _lines_in(stream: dict[str, Any]) -> int:
    for key in ("values", "entries"):
        lines = stream.get(key)
        if isinstance(lines, list):
            return len(lines)
    return 0


def _refuse_labels(message: str) -> IngestRefused:
    return IngestRefused(400, "labels_over_limit", message)


def _label_bytes(labels: dict[str, Any], limits: LokiLimits) -> int:
    """The bytes of one stream's labels; raises IngestRefused past a per-stream bound."""
    if len(labels) > limits.max_labels_per_stream:
        raise _refuse_labels(
            f"a stream has {len(labels)} labels, more than {limits.max_labels_per_stream}"
        )
    total = 0
    for name, value in labels.items():
        if isinstance(value, dict | list):
            raise _refuse_labels(f"label {name[:100]!r} must be a string")
        name_bytes = len(name.encode())
        value_bytes = len(value.encode()) if isinstance(value, str) else len(str(value))
        if name_bytes > limits.max_name_bytes:
            raise _refuse_labels(f"a label name is longer than {limits.max_name_bytes} bytes")
        if value_bytes > limits.max_value_bytes:
            raise _refuse_labels(
                f"label {name[:100]!r} has a value longer than {limits.max_value_bytes} bytes"
            )
        total += name_bytes + value_bytes
    return total


def check_push_limits(payload: Any, limits: LokiLimits) -> None:
    """Raise :class:`IngestRefused` (413 or 400, naming the bound) if ``payload`` is past one.

    A body that is not a push at all passes: the line-by-line reading refuses it with its reason.
    """
    streams = payload.get("streams") if isinstance(payload, dict) else None
    if not isinstance(streams, list):
        return
    dicts = [stream for stream in streams if isinstance(stream, dict)]
    check_record_count(sum(_lines_in(stream) for stream in dicts), limits.max_records)
    carried = 0
    for stream in dicts:
        labels = stream.get("stream")
        text = stream.get("labels")
        if labels is None and isinstance(text, str):
            if len(text) > limits.max_label_string_chars:
                raise _refuse_labels("a stream's labels are longer than the label limits allow")
            try:
                labels = parse_label_string(text)
            except ValueError:
                continue  # refused line by line with the parser's reason
        if isinstance(labels, dict):
            carried += _label_bytes(labels, limits) * _lines_in(stream)
    if carried > limits.max_label_bytes_per_request:
        raise IngestRefused(
            413,
            "labels_over_limit",
            f"the labels, repeated on each of their lines, exceed "
            f"{limits.max_label_bytes_per_request} bytes",
        )
