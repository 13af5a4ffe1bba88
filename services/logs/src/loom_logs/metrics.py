"""The logs service's own Prometheus metrics (shown with the shared ones on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RECORDS_STORED = Counter("loom_logs_records_stored_total", "Log records stored")
RECORDS_REJECTED = Counter(
    "loom_logs_records_rejected_total",
    "Log records refused at ingest; reason is not_a_dict, missing_<field> or invalid_<field>",
    ["reason"],
)
RECORDS_ACCEPTED = Counter(
    "loom_logs_records_accepted_total",
    "Log records taken in over HTTP or GELF and published to the logs queue",
    ["source"],
)
INGEST_REFUSED = Counter(
    "loom_logs_ingest_refused_total",
    "Whole requests, datagrams, frames or connections refused at ingest (source: api, "
    "gelf_http, loki, gelf_udp, gelf_tcp)",
    ["source", "reason"],
)
TAIL_DROPPED = Counter(
    "loom_logs_tail_dropped_total",
    "Live-tail lines not delivered because the client's queue was full",
)
RECORDS_EXPIRED = Counter(
    "loom_logs_records_expired_total",
    "Log records deleted by retention (service is the record's, or 'none')",
    ["service"],
)
PAGE_QUERIES_REFUSED = Counter(
    "loom_logs_page_queries_refused_total",
    "Search page and page live-tail requests refused (reason: invalid_filters, invalid_cursor)",
    ["reason"],
)
BATCHES_REPEATED = Counter(
    "loom_logs_batches_repeated_total",
    "Batches from the logs queue identical to one stored before (a redelivery after a lost "
    "ack, or a client's retry), not stored again",
)
GELF_TCP_CONNECTIONS = Gauge(
    "loom_logs_gelf_tcp_connections", "GELF TCP connections open now (bounded by the config)"
)
GELF_CHUNK_BYTES_HELD = Gauge(
    "loom_logs_gelf_chunk_bytes_held",
    "Bytes of GELF UDP chunks held for messages whose other chunks have not arrived yet",
)
