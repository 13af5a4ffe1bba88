"""Email jobs: multipart text + HTML over a real SMTP conversation, each email sent once."""

from __future__ import annotations

from email.message import EmailMessage
from types import ModuleType

import dramatiq
from flask import Flask
from helpers import enqueue, wait_for_status

from loom_common.contracts import (
    JOB_PASSWORD_RESET_EMAIL,
    JOB_TASK_ASSIGNED_EMAIL,
    JOB_WELCOME_EMAIL,
)
from loom_common.mail.sink import SmtpSink
from loom_common.testing import wait_until
from loom_worker.job_context import JobContext
from loom_worker.jobs.emails import WelcomeArgs, welcome


def parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


def sent_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages if m["To"] == address]


def test_welcome_email_is_multipart_from_the_sender_with_a_job_message_id(
    app: Flask, worker: dramatiq.Worker, smtp: SmtpSink
) -> None:
    job = enqueue(app, JOB_WELCOME_EMAIL, {"to": "ada@example.com", "name": "Ada"}).json
    done = wait_for_status(app, job["id"], "succeeded")

    [message] = wait_until(lambda: sent_to(smtp, "ada@example.com"), timeout=5)
    assert message["From"] == "Loom <loom@localhost>"
    assert message["Subject"] == "Welcome to Loom"
    assert message["Message-ID"] == f"<{job['id']}@localhost>"
    assert done["result"] == {"message_id": message["Message-ID"], "sent": True}
    assert message.get_content_type() == "multipart/alternative"
    body = parts(message)
    assert "Hello Ada," in body["text/plain"]
    assert "<p>Hello Ada,</p>" in body["text/html"]


def test_values_are_escaped_in_the_html_part(
    app: Flask, worker: dramatiq.Worker, smtp: SmtpSink
) -> None:
    args = {
        "to": "grace@example.com",
        "name": "<script>alert(1)</script>",
        "task_title": "Fix <b>it</b>",
        "project_name": "Apollo & co",
        "task_url": "https://loom.example/tasks/7",
        "assigned_by": "Ada",
    }
    job = enqueue(app, JOB_TASK_ASSIGNED_EMAIL, args).json
    wait_for_status(app, job["id"], "succeeded")

    [message] = wait_until(lambda: sent_to(smtp, "grace@example.com"), timeout=5)
    html = parts(message)["text/html"]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Fix &lt;b&gt;it&lt;/b&gt;" in html
    assert 'href="https://loom.example/tasks/7"' in html
    assert message["Subject"] == "Ada assigned you \u201cFix <b>it</b>\u201d"


def test_password_reset_link_is_in_both_parts_but_not_in_the_job_record(
    app: Flask, worker: dramatiq.Worker, smtp: SmtpSink
) -> None:
    link = "https://loom.example/reset/one-time-abc"
    args = {
        "to": "linus@example.com",
        "name": "Linus",
        "reset_token_url": link,
        "expires_minutes": 30,
    }
    job = enqueue(app, JOB_PASSWORD_RESET_EMAIL, args).json
    done = wait_for_status(app, job["id"], "succeeded")

    [message] = wait_until(lambda: sent_to(smtp, "linus@example.com"), timeout=5)
    body = parts(message)
    assert link in body["text/plain"] and link in body["text/html"]
    assert "within 30 minutes" in body["text/plain"]
    assert "one-time-abc" not in str(done)


def test_a_redelivered_email_job_is_not_sent_twice(actors: ModuleType, smtp: SmtpSink) -> None:
    context = JobContext("redelivered-job-1", actors.settings, actors.config, actors.database)
    args = WelcomeArgs(to="once@example.com", name="Once")

    first = welcome(args, context)
    second = welcome(args, context)  # what a redelivery of the same message runs

    assert first["sent"] is True and second["sent"] is False
    assert len(sent_to(smtp, "once@example.com")) == 1
