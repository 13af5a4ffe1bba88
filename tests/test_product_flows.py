"""The product's flows as a person goes through them: web's pages and API, the worker's jobs,
and the emails they end in, on the real stack (gunicorn, dramatiq, RabbitMQ, an SMTP sink)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import Stack
from inbox import wait_for_email
from polling import wait_for
from site_visitor import PASSWORD, Member, Visitor, register
from worker_jobs import wait_for_finished_job, wait_for_job_id

EXPORTED_TASKS = 101  # one more than the worker's page size, so the export needs two pages
_RESET_LINK = re.compile(r"https?://\S+/password/reset/[\w-]+")
_DOWNLOAD_LINK = re.compile(r'href="(/projects/\d+/exports/\d+/download)"')


def new_project(owner: Member, name: str) -> int:
    reply = owner.api("POST", "/api/v1/projects", json={"name": name})
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def new_task(owner: Member, project_id: int, **fields: Any) -> dict[str, Any]:
    reply = owner.api("POST", f"/api/v1/projects/{project_id}/tasks", json=fields)
    assert reply.status_code == 201, reply.text
    task: dict[str, Any] = reply.json()
    return task


def invite(owner: Member, project_id: int, member: Member) -> int:
    reply = owner.api(
        "POST", f"/api/v1/projects/{project_id}/members", json={"email": member.email}
    )
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def test_a_new_account_gets_a_welcome_email_sent_by_the_worker(stack: Stack) -> None:
    ada = register(stack.urls["web"], "Ada")

    email = wait_for_email(stack, ada.email, "Welcome to Loom")
    assert email.to == [ada.email]
    assert email.content_type == "multipart/alternative"
    assert "Hello Ada" in email.text
    assert "Hello Ada" in email.html and "<p>" in email.html

    job = wait_for_finished_job(stack, "emails.welcome", ada.email)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1
    assert job["result"]["sent"] is True


def test_the_assignee_of_a_new_task_gets_an_email_with_a_link_to_it(stack: Stack) -> None:
    owner = register(stack.urls["web"], "Olga")
    assignee = register(stack.urls["web"], "Bruno")
    project_id = new_project(owner, "Launch")
    assignee_id = invite(owner, project_id, assignee)

    task = new_task(owner, project_id, title="Write the release notes", assignee_id=assignee_id)

    email = wait_for_email(stack, assignee.email, "Write the release notes")
    assert email.to == [assignee.email]
    assert email.subject == "Olga assigned you \u201cWrite the release notes\u201d"
    assert "Write the release notes" in email.text and "Launch" in email.text
    assert "Write the release notes" in email.html
    task_link = f"{stack.urls['web']}/projects/{project_id}/tasks/{task['id']}"
    assert task_link in email.text
    # The link opens the task for the assignee, logged in on their own browser.
    page = assignee.get(task_link)
    assert page.status_code == 200
    assert "Write the release notes" in page.text
    job = wait_for_finished_job(stack, "emails.task_assigned", assignee.email)
    assert job["status"] == "succeeded" and job["attempts"] == 1, job


def test_a_password_is_reset_with_the_emailed_link_which_works_once(stack: Stack) -> None:
    cleo = register(stack.urls["web"], "Cleo")
    assert cleo.get("/settings", allow_redirects=False).status_code == 200
    new_password = "a brand new passphrase"
    someone = Visitor(stack.urls["web"])
    asked = someone.submit("/password/forgot", {"email": cleo.email})
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/login")

    email = wait_for_email(stack, cleo.email, "Reset your Loom password")
    link = _RESET_LINK.search(email.text)
    assert link, email.text
    assert link.group(0) in email.html
    job = wait_for_finished_job(stack, "emails.password_reset", cleo.email)
    # An operator looking at the job must not be able to take over the account.
    assert job["arguments"]["kwargs"]["reset_token_url"] == "[Filtered]"
    assert link.group(0) not in str(job)

    browser = Visitor(stack.urls["web"])
    # The link moves the browser to a form whose address holds no token.
    changed = browser.submit(
        link.group(0), {"password": new_password, "confirm": new_password}, "/password/reset"
    )
    assert changed.status_code == 302 and changed.headers["Location"].endswith("/login")

    assert browser.log_in(cleo.email, new_password).status_code == 302
    assert Visitor(stack.urls["web"]).log_in(cleo.email, PASSWORD).status_code == 401
    # Resetting signs the account out everywhere, including the registration's session.
    assert cleo.get("/settings", allow_redirects=False).status_code == 302

    again = Visitor(stack.urls["web"]).get(link.group(0))
    assert again.status_code == 404
    assert "invalid, used or expired" in again.text
    # Posting a new password straight to the spent link changes nothing either.
    hijack = "someone else's password"
    replayed = Visitor(stack.urls["web"]).post(
        link.group(0), {"password": hijack, "confirm": hijack}
    )
    assert replayed.status_code == 404
    assert Visitor(stack.urls["web"]).log_in(cleo.email, hijack).status_code == 401


def test_the_owner_downloads_a_csv_export_that_a_member_cannot(stack: Stack) -> None:
    owner = register(stack.urls["web"], "Ines")
    member = register(stack.urls["web"], "Jon")
    outsider = register(stack.urls["web"], "Kai")
    project_id = new_project(owner, "Export me")
    invite(owner, project_id, member)
    tricky_title = 'Fix "quotes", commas, and\nnewlines'
    titles = [tricky_title] + [f"Task number {n}" for n in range(2, EXPORTED_TASKS + 1)]
    created = {new_task(owner, project_id, title=title)["id"]: title for title in titles}

    project_page = f"/projects/{project_id}"
    asked = owner.submit(project_page, {}, action=f"{project_page}/exports")
    assert asked.status_code == 302

    def download_link() -> str | None:
        match = _DOWNLOAD_LINK.search(owner.get(project_page).text)
        return match.group(1) if match else None

    link = wait_for(download_link, timeout=60, interval=0.5, message="the export to be ready")
    download = owner.get(link)
    assert download.status_code == 200, download.text
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8"))))
    assert {int(row["id"]): row["title"] for row in rows} == created
    assert len(rows) == EXPORTED_TASKS

    member_page = member.get(project_page)
    assert member_page.status_code == 200 and "Export the tasks as CSV" not in member_page.text
    refused = member.get(link)
    assert refused.status_code == 403
    assert "Task number 2" not in refused.text
    assert outsider.get(link).status_code == 404


def test_the_daily_digest_names_the_tasks_due_within_a_day(stack: Stack) -> None:
    dana = register(stack.urls["web"], "Dana")
    project_id = new_project(dana, "Digest project")
    now = datetime.now(UTC)
    dana_id = dana.user_id
    soon = new_task(
        dana,
        project_id,
        title="Renew the certificate",
        assignee_id=dana_id,
        due_date=(now + timedelta(hours=3)).isoformat(),
    )
    new_task(
        dana,
        project_id,
        title="Plan next quarter",
        assignee_id=dana_id,
        due_date=(now + timedelta(days=5)).isoformat(),
    )
    new_task(
        dana,
        project_id,
        title="Already finished",
        assignee_id=dana_id,
        status="done",
        due_date=(now + timedelta(hours=2)).isoformat(),
    )

    reply = stack.post("worker", "/api/jobs", json={"name": "digest.daily", "args": {}})
    assert reply.status_code == 202, reply.text
    job = wait_for_job_id(stack, reply.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["sent"] >= 1

    email = wait_for_email(stack, dana.email, "due soon")
    assert email.subject == "1 task due soon"
    assert "Renew the certificate" in email.text and "Digest project" in email.text
    assert "Renew the certificate" in email.html
    assert f"/projects/{project_id}/tasks/{soon['id']}" in email.text
    assert "Plan next quarter" not in email.text
    assert "Already finished" not in email.text


def test_the_worker_lists_the_jobs_queue_with_its_counts(stack: Stack) -> None:
    def jobs_queue() -> dict[str, Any] | None:
        reply = stack.get("worker", "/api/queues")
        assert reply.status_code == 200, reply.text
        found = [queue for queue in reply.json()["items"] if queue["name"] == "jobs"]
        # The management API lags a few seconds behind the consumer's start.
        return found[0] if found and found[0]["consumers"] >= 1 else None

    queue = wait_for(jobs_queue, timeout=30, interval=1, message="the jobs queue's consumer")
    for count in ("ready", "unacknowledged", "consumers", "delayed", "dead_letters"):
        assert isinstance(queue[count], int) and queue[count] >= 0, queue


def test_the_request_id_of_a_registration_is_on_its_welcome_email_job(stack: Stack) -> None:
    request_id = f"it-{uuid.uuid4().hex}"
    eve = register(stack.urls["web"], "Eve", request_id=request_id)

    job = wait_for_finished_job(stack, "emails.welcome", eve.email)
    assert job["status"] == "succeeded", job
    assert job["request_id"] == request_id
    wait_for_email(stack, eve.email, "Welcome to Loom")

    # The logs service holds both ends under the one id: web's request and the worker's job.
    def lines_of_both_services() -> list[dict[str, Any]] | None:
        reply = stack.get("logs", "/api/logs", params={"request_id": request_id, "limit": 200})
        lines: list[dict[str, Any]] = reply.json()["items"]
        web_request = [x for x in lines if x["service"] == "web" and "/register" in x["message"]]
        worker_job = [
            x
            for x in lines
            if x["service"] == "worker" and "emails.welcome succeeded" in x["message"]
        ]
        return lines if web_request and worker_job else None

    lines = wait_for(lines_of_both_services, timeout=30, message="web's and worker's lines")
    assert all(line["request_id"] == request_id for line in lines)
