"""The message contracts between services: queue and actor names (see DESIGN.md).

Services send to these names through :func:`loom_common.broker.send`; none imports another's actors.
"""

JOBS_QUEUE = "jobs"
ERRORS_QUEUE = "errors"
ERRORS_ACTOR = "errors.ingest"  # payload: event=<one Sentry event dict>, project_id=<int, optional: the default project>
LOGS_QUEUE = "logs"
LOGS_ACTOR = "logs.ingest"  # payload: records=<list of log record dicts, see log_records.py>

# Jobs the web app sends to the worker on JOBS_QUEUE (actor name: payload keys).
# Secrets travel only in keys the scrubber recognises (``reset_token_url``), so job records hide them.
JOB_WELCOME_EMAIL = "emails.welcome"  # to, name
JOB_TASK_ASSIGNED_EMAIL = (
    "emails.task_assigned"  # to, name, task_title, project_name, task_url, assigned_by
)
JOB_PASSWORD_RESET_EMAIL = "emails.password_reset"  # to, name, reset_token_url, expires_minutes
JOB_PROJECT_EXPORT = "exports.project_csv"  # project_id, requested_by (user id)
JOB_DAILY_DIGEST = "digest.daily"  # (none) - scheduled; reads due tasks from web's API
JOB_CLEANUP = "maintenance.cleanup"  # (none) - scheduled; asks web to drop expired sessions/tokens
