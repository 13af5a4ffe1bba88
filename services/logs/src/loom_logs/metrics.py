"""The logs service's own Prometheus metrics (shown with the shared ones on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter

RECORDS_STORED = Counter("loom_logs_records_stored_total", "Log records stored")
RECORDS_REJECTED = Counter(
    "loom_logs_records_rejected_total",
    "Log records refused at ingest; reason is not_a_dict, missing_<field> or invalid_<field>",
    ["reason"],
)
