"""Absolute links to pages, for emails and the digest (the worker sends them out)."""

from __future__ import annotations

from flask import current_app

from loom_web.models import Task


def web_base_url() -> str:
    return str(current_app.config["LOOM_WEB_URL"])


def task_url(task: Task) -> str:
    return f"{web_base_url()}/projects/{task.project_id}/tasks/{task.id}"


def project_url(project_id: int) -> str:
    return f"{web_base_url()}/projects/{project_id}"
