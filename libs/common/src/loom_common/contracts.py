"""The message contracts between services: queue and actor names (see DESIGN.md).

Services send to these names through :func:`loom_common.broker.send`; none imports another's actors.
"""

JOBS_QUEUE = "jobs"
ERRORS_QUEUE = "errors"
ERRORS_ACTOR = "errors.ingest"  # payload: event=<one Sentry event dict>
LOGS_QUEUE = "logs"
LOGS_ACTOR = "logs.ingest"  # payload: records=<list of log record dicts, see log_records.py>
