"""The account and task emails the web app asks for: welcome, task assigned, password reset."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from loom_common.contracts import (
    JOB_PASSWORD_RESET_EMAIL,
    JOB_TASK_ASSIGNED_EMAIL,
    JOB_WELCOME_EMAIL,
)
from loom_common.job_options import MINUTE_MS
from loom_worker.job_context import JobContext
from loom_worker.jobs.fields import Line, Recipient, WebLink
from loom_worker.mail.compose import compose_email
from loom_worker.mail.outbox import email_message_id, send_once
from loom_worker.registry import job

# SMTP relays go away for minutes at a time: retry for about half an hour before giving up.
EMAIL_MAX_RETRIES = 10
EMAIL_TIME_LIMIT_MS = 2 * MINUTE_MS


class WelcomeArgs(BaseModel):
    to: Recipient
    name: Line


class TaskAssignedArgs(BaseModel):
    to: Recipient
    name: Line
    task_title: Line
    project_name: Line
    task_url: WebLink
    assigned_by: Line


class PasswordResetArgs(BaseModel):
    to: Recipient
    name: Line
    reset_token_url: WebLink
    expires_minutes: int = Field(ge=1, le=7 * 24 * 60)


def send_templated(
    context: JobContext, job_name: str, template: str, to: str, subject: str, values: Any
) -> dict[str, Any]:
    sender = context.settings.smtp_from
    message_id = email_message_id(context.job_id, sender)
    sent = send_once(
        context.database,
        context.settings.smtp_url,
        job_id=context.job_id,
        job_name=job_name,
        message_id=message_id,
        recipient=to,
        build=lambda: compose_email(
            template, sender=sender, to=to, subject=subject, message_id=message_id, values=values
        ),
    )
    return {"message_id": message_id, "sent": sent}


@job(
    JOB_WELCOME_EMAIL, WelcomeArgs, max_retries=EMAIL_MAX_RETRIES, time_limit_ms=EMAIL_TIME_LIMIT_MS
)
def welcome(args: WelcomeArgs, context: JobContext) -> dict[str, Any]:
    return send_templated(
        context, JOB_WELCOME_EMAIL, "welcome", args.to, "Welcome to Loom", args.model_dump()
    )


@job(
    JOB_TASK_ASSIGNED_EMAIL,
    TaskAssignedArgs,
    max_retries=EMAIL_MAX_RETRIES,
    time_limit_ms=EMAIL_TIME_LIMIT_MS,
)
def task_assigned(args: TaskAssignedArgs, context: JobContext) -> dict[str, Any]:
    subject = f"{args.assigned_by} assigned you \u201c{args.task_title}\u201d"
    return send_templated(
        context, JOB_TASK_ASSIGNED_EMAIL, "task_assigned", args.to, subject, args.model_dump()
    )


@job(
    JOB_PASSWORD_RESET_EMAIL,
    PasswordResetArgs,
    max_retries=EMAIL_MAX_RETRIES,
    time_limit_ms=EMAIL_TIME_LIMIT_MS,
)
def password_reset(args: PasswordResetArgs, context: JobContext) -> dict[str, Any]:
    return send_templated(
        context,
        JOB_PASSWORD_RESET_EMAIL,
        "password_reset",
        args.to,
        "Reset your Loom password",
        args.model_dump(),
    )
