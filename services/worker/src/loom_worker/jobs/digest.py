"""The daily digest: one email per user listing their tasks due in the next day."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from loguru import logger
from pydantic import BaseModel, Field, ValidationError

from loom_common.contracts import JOB_DAILY_DIGEST
from loom_common.db import utcnow
from loom_common.job_options import MINUTE_MS
from loom_worker.job_context import JobContext
from loom_worker.jobs.fields import Recipient
from loom_worker.mail.compose import compose_email
from loom_worker.mail.outbox import email_message_id, send_once
from loom_worker.metrics import EMAILS_SKIPPED
from loom_worker.registry import job


class DigestArgs(BaseModel):
    due_within_hours: int = Field(default=24, ge=1, le=7 * 24)


class DueTask(BaseModel):
    title: str
    project: str
    due_date: str
    url: str


class DigestRecipient(BaseModel):
    email: Recipient
    name: str
    tasks: list[DueTask]


@job(JOB_DAILY_DIGEST, DigestArgs, max_retries=5, time_limit_ms=30 * MINUTE_MS)
def daily_digest(args: DigestArgs, context: JobContext) -> dict[str, Any]:
    due_before = utcnow() + timedelta(hours=args.due_within_hours)
    with context.web() as web:
        page = web.get("/api/v1/digest", params={"due_before": due_before.isoformat()})
    items = page.get("items", []) if isinstance(page, dict) else []
    sender = context.settings.smtp_from
    sent = skipped = invalid = 0
    for position, item in enumerate(items, start=1):
        try:
            recipient = DigestRecipient.model_validate(item)
        except ValidationError as error:
            # One bad entry must not hold back everyone else's digest (nor retry forever).
            invalid += 1
            EMAILS_SKIPPED.labels(JOB_DAILY_DIGEST, "invalid_recipient").inc()
            logger.warning("digest entry {} skipped: {}", position, error.errors()[0]["msg"])
            continue
        if not recipient.tasks:
            continue
        message_id = email_message_id(context.job_id, sender, key=str(recipient.email).lower())
        values = {
            "name": recipient.name,
            "hours": args.due_within_hours,
            "tasks": [task.model_dump() for task in recipient.tasks],
        }
        count = len(recipient.tasks)
        subject = f"{count} task{'s' if count != 1 else ''} due soon"
        if send_once(
            context.database,
            context.settings.smtp_url,
            job_id=context.job_id,
            job_name=JOB_DAILY_DIGEST,
            message_id=message_id,
            recipient=recipient.email,
            build=partial(
                compose_email,
                "digest",
                sender=sender,
                to=recipient.email,
                subject=subject,
                message_id=message_id,
                values=values,
            ),
        ):
            sent += 1
        else:
            skipped += 1
        context.report_progress(position, len(items))
    return {
        "sent": sent,
        "already_sent": skipped,
        "invalid": invalid,
        "due_before": due_before.isoformat(),
    }
