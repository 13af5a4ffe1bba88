"""The web app's own Prometheus counters (shown on /metrics with loom_common's)."""

from __future__ import annotations

from prometheus_client import Counter

CACHE_LOOKUPS = Counter(
    "loom_web_cache_lookups_total",
    "Read-through cache lookups by what was looked up and whether it was there",
    ["what", "result"],
)
REFUSED = Counter(
    "loom_web_refused_total",
    "Requests the web app refused, by reason (rate limited, CSRF, too large, invalid, ...)",
    ["reason"],
)
LOGINS = Counter("loom_web_logins_total", "Log-in attempts by outcome", ["outcome"])
