"""Records taken in from outside (HTTP, GELF, Loki): checked one by one, then published.

Every source checks its records here, so a bad one is refused alone and counted the same way
whatever the protocol, and the good ones go to the ``logs`` queue: storage has one path, the
consumer's, whichever way a line came in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from loom_logs.metrics import RECORDS_ACCEPTED, RECORDS_REJECTED
from loom_logs.store.records import RecordRejected, contract_record, parse_record

# Each candidate is a record of the logs.ingest contract, or the reason it could not become one.
Candidate = dict[str, Any] | RecordRejected
Publish = Callable[[list[dict[str, Any]]], None]
MAX_REPORTED_REJECTIONS = 100  # a response lists the first ones; the count covers all


@dataclass
class Rejection:
    index: int
    reason: str
    message: str


@dataclass
class Intake:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    rejected: int = 0

    def report(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "rejected": self.rejected,
            "rejections": [vars(r) for r in self.rejections[:MAX_REPORTED_REJECTIONS]],
        }


def _size(record: dict[str, Any]) -> int:
    try:
        return len(orjson.dumps(record, default=str))
    except orjson.JSONEncodeError:
        return 0  # parse_record refuses it with a reason of its own


def check_records(candidates: Iterable[Candidate], *, max_record_bytes: int) -> Intake:
    """Split ``candidates`` into records to publish and counted rejections."""
    intake = Intake()
    reasons: Counter[str] = Counter()
    for index, candidate in enumerate(candidates):
        try:
            if isinstance(candidate, RecordRejected):
                raise candidate
            if isinstance(candidate, dict):
                # Keys the contract does not know are dropped here, not published raw: one
                # nested past the JSON encoder's depth used to fail the publish (a 500).
                candidate = contract_record(candidate)
            if isinstance(candidate, dict) and _size(candidate) > max_record_bytes:
                raise RecordRejected("record_too_large", f"larger than {max_record_bytes} bytes")
            parse_record(candidate)  # the consumer checks again; this tells the sender now
        except RecordRejected as rejection:
            reasons[rejection.reason] += 1
            intake.rejected += 1
            if len(intake.rejections) < MAX_REPORTED_REJECTIONS:
                intake.rejections.append(Rejection(index, rejection.reason, str(rejection)))
            continue
        intake.accepted.append(candidate)
    for reason, count in reasons.items():
        RECORDS_REJECTED.labels(reason=reason).inc(count)
    return intake


def publish_in_batches(
    records: Sequence[dict[str, Any]], publish: Publish, *, source: str, batch_size: int = 500
) -> None:
    for start in range(0, len(records), batch_size):
        publish(list(records[start : start + batch_size]))
    RECORDS_ACCEPTED.labels(source=source).inc(len(records))
