"""Send each email of a job once, even when the job's message is delivered again.

The Message-ID is derived from the job id (and a per-email key), and a row in ``sent_emails``
is written right after the SMTP server accepts. A redelivered job finds the row and skips.
(A crash between the server's acceptance and that row can still send twice: the window is
one database write, and the shared Message-ID lets a mail reader drop the duplicate.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from email.message import EmailMessage

from loom_common.db import Database
from loom_common.mail.smtp import send_email
from loom_worker.mail.compose import sender_domain
from loom_worker.metrics import EMAILS_SENT, EMAILS_SKIPPED
from loom_worker.models import SentEmail


def email_message_id(job_id: str, sender: str, key: str = "") -> str:
    """``<job-id[.key-digest]@sender-domain>``: the same on every attempt of the job."""
    suffix = "." + hashlib.sha256(key.encode()).hexdigest()[:16] if key else ""
    return f"<{job_id}{suffix}@{sender_domain(sender)}>"


def send_once(
    database: Database,
    smtp_url: str,
    *,
    job_id: str,
    job_name: str,
    message_id: str,
    recipient: str,
    build: Callable[[], EmailMessage],
) -> bool:
    """True if sent now, False if an earlier attempt already sent it.

    A refused recipient is not retried: the server said no, and no retry changes that. (It is
    logged by send_email; every recipient refused raises, and the job retries then fails.)
    """
    with database.session() as session:
        if session.get(SentEmail, message_id) is not None:
            EMAILS_SKIPPED.labels(job_name, "already_sent").inc()
            return False
    send_email(smtp_url, build())
    with database.session() as session:
        session.add(SentEmail(message_id=message_id, job_id=job_id, recipient=recipient))
    EMAILS_SENT.labels(job_name).inc()
    return True
