"""digest.daily mails each user their tasks due soon; maintenance.cleanup tidies both sides."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from types import ModuleType

import dramatiq
from flask import Flask
from helpers import enqueue, job_of, wait_for_status
from peers import WebPeer

from loom_common.contracts import JOB_CLEANUP, JOB_DAILY_DIGEST
from loom_common.mail.sink import SmtpSink
from loom_common.testing import wait_until
from loom_worker.job_context import JobContext, export_path
from loom_worker.jobs.digest import DigestArgs, daily_digest
from loom_worker.models import Job, SentEmail


def due(title: str) -> dict[str, str]:
    return {"title": title, "project": "Apollo", "due_date": "2026-12-01", "url": "https://l/t/1"}


def test_digest_sends_one_email_per_user_with_their_tasks(
    app: Flask, worker: dramatiq.Worker, web: WebPeer, smtp: SmtpSink
) -> None:
    web.state.digest = [
        {"email": "ada@example.com", "name": "Ada", "tasks": [due("Launch"), due("Land")]},
        {"email": "grace@example.com", "name": "Grace", "tasks": [due("Compile")]},
        {"email": "not an address", "name": "Broken", "tasks": [due("X")]},
    ]
    job = enqueue(app, JOB_DAILY_DIGEST, {}).json
    done = wait_for_status(app, job["id"], "succeeded")

    assert done["result"]["sent"] == 2 and done["result"]["invalid"] == 1
    asked = datetime.fromisoformat(web.state.digest_queries[-1])
    assert timedelta(hours=23) < asked - datetime.now(UTC) <= timedelta(hours=24)
    mails = wait_until(lambda: len(smtp.messages) >= 2 and smtp.messages, timeout=5)
    by_recipient = {m["To"]: m for m in mails}
    assert set(by_recipient) == {"ada@example.com", "grace@example.com"}
    assert by_recipient["ada@example.com"]["Subject"] == "2 tasks due soon"
    text = by_recipient["ada@example.com"].get_body(("plain",)).get_content()
    assert "Launch (Apollo)" in text and "Land (Apollo)" in text and "Compile" not in text


def test_a_redelivered_digest_skips_users_already_mailed(
    actors: ModuleType, web: WebPeer, smtp: SmtpSink
) -> None:
    web.state.digest = [{"email": "ada@example.com", "name": "Ada", "tasks": [due("Launch")]}]
    context = JobContext("digest-redelivered", actors.settings, actors.config, actors.database)
    first = daily_digest(DigestArgs(), context)
    web.state.digest.append({"email": "bob@example.com", "name": "Bob", "tasks": [due("Ship")]})
    second = daily_digest(DigestArgs(), context)

    assert (first["sent"], second["sent"], second["already_sent"]) == (1, 1, 1)
    assert sorted(m["To"] for m in smtp.messages) == ["ada@example.com", "bob@example.com"]


def test_cleanup_calls_web_and_drops_old_records_and_stale_exports(
    app: Flask, actors: ModuleType, worker: dramatiq.Worker, web: WebPeer
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=30)
    with actors.database.session() as session:
        session.add(Job(id="old-done", actor="greet", queue="jobs", arguments={}, status="succeeded",
                        attempts=1, created_at=long_ago, finished_at=long_ago))  # fmt: skip
        session.add(Job(id="old-running", actor="greet", queue="jobs", arguments={}, status="running",
                        attempts=1, created_at=long_ago))  # fmt: skip
        session.add(SentEmail(message_id="<old-done@x>", job_id="old-done", recipient="a@b.c"))
    stale = export_path(actors.settings, "old-export")
    fresh = export_path(actors.settings, "new-export")
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("id\n")
    fresh.write_text("id\n")
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))

    job = enqueue(app, JOB_CLEANUP, {}).json
    done = wait_for_status(app, job["id"], "succeeded")

    assert web.state.cleanup_calls == 1
    assert done["result"]["web"] == {"sessions_removed": 3}
    assert job_of(app, "old-done") is None
    assert job_of(app, "old-running") is not None, "unfinished jobs are kept whatever their age"
    with actors.database.session() as session:
        assert session.get(SentEmail, "<old-done@x>") is None
    assert not stale.exists() and fresh.exists()
