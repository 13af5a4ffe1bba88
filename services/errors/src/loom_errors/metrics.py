"""The errors service's own Prometheus counters (shown on /metrics with loom_common's): what it
took in, refused or dropped, and its alerts (summed over processes)."""

from __future__ import annotations

from prometheus_client import Counter

INGEST_ITEMS = Counter(
    "loom_errors_ingest_items_total",
    "Sentry envelope items accepted over HTTP, by item type",
    ["type"],
)
INGEST_REFUSED = Counter(
    "loom_errors_ingest_refused_total",
    "Sentry ingest requests refused over HTTP, by reason",
    ["reason"],
)
INGEST_ITEMS_DROPPED = Counter(
    "loom_errors_ingest_items_dropped_total",
    "Event and transaction items dropped over HTTP (over the rate limit, or past one per"
    " envelope), by item type and reason",
    ["type", "reason"],
)
EVENTS_TRIMMED = Counter(
    "loom_errors_events_trimmed_total",
    "Stored events deleted to keep an issue under its cap (the issue still counts them)",
)
EVENTS_DUPLICATE = Counter(
    "loom_errors_events_duplicate_total",
    "Events whose event_id was stored already (a redelivery, a sender's retry): not counted again",
)
EVENTS_DEAD_LETTERED = Counter(
    "loom_errors_events_dead_lettered_total", "Queued events refused as malformed by the consumer"
)
ALERTS = Counter(
    "loom_errors_alerts_total",
    "Alert emails by outcome (sent, failed, held for a digest, suppressed by cooldown)",
    ["kind", "outcome"],
)
ALERT_DELIVERY_FAILURES = Counter(
    "loom_errors_alert_delivery_failures_total",
    "Alert email deliveries that failed; final=true when no attempt is left",
    ["final"],
)
PAGE_REQUESTS_REFUSED = Counter(
    "loom_errors_page_requests_refused_total",
    "Operator page requests refused (reason: invalid_filters, invalid_cursor, csrf, not_found, "
    "invalid_status, invalid_project, project_name_taken, invalid_alerts)",
    ["reason"],
)
RATE_LIMIT_UNAVAILABLE = Counter(
    "loom_errors_rate_limit_unavailable_total",
    "Ingest requests let through unchecked because the rate limit store did not answer",
)

# Item types counted under their own name; anything else is "unknown" (bounded label values).
KNOWN_ITEM_TYPES = frozenset(
    {"event", "session", "sessions", "client_report", "transaction", "attachment", "check_in",
     "profile", "replay_event", "replay_recording", "user_report", "statsd", "span", "log"}
)  # fmt: skip


def item_type_label(item_type: str) -> str:
    return item_type if item_type in KNOWN_ITEM_TYPES else "unknown"
