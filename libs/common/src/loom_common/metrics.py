"""Prometheus metrics shared by every service, and the ``/metrics`` exposition.

Under gunicorn and dramatiq several processes serve one service: when
``PROMETHEUS_MULTIPROC_DIR`` is set (the launchers set it per service), every process
writes its samples there and ``/metrics`` sums them. Without it, one process's registry
is shown, which is what unit tests need.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

HTTP_REQUESTS = Counter(
    "loom_http_requests_total", "HTTP requests served", ["service", "method", "endpoint", "status"]
)
HTTP_DURATION = Histogram(
    "loom_http_request_duration_seconds",
    "Time to serve an HTTP request",
    ["service", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_REQUESTS_REFUSED = Counter(
    "loom_http_requests_refused_total",
    "Requests refused (4xx), by service and reason; each refusal counts itself once",
    ["service", "reason"],
)
JOBS = Counter("loom_jobs_total", "Actor runs by outcome", ["service", "actor", "outcome"])
JOB_DURATION = Histogram(
    "loom_job_duration_seconds", "Time an actor run took", ["service", "actor"]
)
LOG_RECORDS_SHIPPED = Counter(
    "loom_log_records_shipped_total", "Log records published to the logs queue", ["service"]
)
LOG_RECORDS_DROPPED = Counter(
    "loom_log_records_dropped_total",
    "Log records that never reached the logs queue",
    ["service", "reason"],
)
ERROR_EVENTS_SENT = Counter(
    "loom_error_events_sent_total", "Error events published to the errors queue", ["service"]
)
DB_OUTAGE_RETRIES = Counter(
    "loom_db_outage_retries_total",
    "Units of work run again because the database primary was unreachable or had moved",
)
DB_OUTAGE_REFUSALS = Counter(
    "loom_db_outage_refusals_total",
    "HTTP requests answered 503 because no writable database primary was reachable",
    ["service"],
)
ERROR_EVENTS_DROPPED = Counter(
    "loom_error_events_dropped_total",
    "Error events that never reached the errors queue",
    ["service", "reason"],
)

MESSAGES_UNSENT = Counter(
    "loom_messages_unsent_total",
    "Messages about rows already committed that the broker did not take: the work they ask"
    " for will not run (services without an outbox; see broker.send_after_commit)",
    ["queue", "actor"],
)


def render_metrics() -> tuple[bytes, str]:
    """The current samples in Prometheus text format, and their content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(DEFAULT_REGISTRY), CONTENT_TYPE_LATEST
