"""The worker's own counters (shown on /metrics next to loom_common's; multiprocess-safe the
same way, through PROMETHEUS_MULTIPROC_DIR). Everything refused or dropped is counted here."""

from __future__ import annotations

from prometheus_client import Counter

JOBS_REFUSED = Counter(
    "loom_worker_jobs_refused_total", "POST /api/jobs requests refused", ["reason"]
)
JOBS_SKIPPED = Counter(
    "loom_worker_jobs_skipped_total",
    "Duplicate deliveries of jobs acked without running (reason: already_succeeded,"
    " already_failed, already_dead, running_elsewhere)",
    ["reason"],
)
EMAILS_SENT = Counter("loom_worker_emails_sent_total", "Emails the SMTP server accepted", ["job"])
EMAILS_SKIPPED = Counter(
    "loom_worker_emails_skipped_total",
    "Emails not sent: already sent by an earlier attempt, or a bad recipient",
    ["job", "reason"],
)
DEAD_LETTERS_REQUEUED = Counter(
    "loom_worker_dead_letters_requeued_total", "Dead letters put back on their queue", ["queue"]
)
DEAD_LETTERS_PURGED = Counter(
    "loom_worker_dead_letters_purged_total", "Dead letters dropped by a purge", ["queue"]
)
QUEUE_DEPTHS_UNAVAILABLE = Counter(
    "loom_worker_queue_depths_unavailable_total",
    "GET /api/queues answered 503: RabbitMQ's management API unreachable, refusing or odd",
    ["reason"],
)
SCHEDULE_FIRES = Counter(
    "loom_worker_schedule_fires_total",
    "Schedule fire times, by outcome (sent, or taken by another scheduler)",
    ["schedule", "outcome"],
)
CLEANUP_REMOVED = Counter(
    "loom_worker_cleanup_removed_total", "Old job records and export files removed", ["kind"]
)
JOB_RECORD_WRITES_FAILED = Counter(
    "loom_worker_job_record_writes_failed_total",
    "Changes to job records that could not be stored (the job itself ran)",
)
