"""POST /api/jobs with a JSON body under another content type: 415 naming JSON, counted."""

from __future__ import annotations

import pytest
from flask import Flask
from helpers import TOKEN, metric

from loom_common.contracts import JOB_WELCOME_EMAIL


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "text/plain"])
def test_a_job_sent_as_another_content_type_is_415_and_counted(
    app: Flask, content_type: str
) -> None:
    before = metric(app, "loom_worker_jobs_refused_total", reason="unsupported_media_type")
    response = app.test_client().post(
        "/api/jobs",
        data=f'{{"name": "{JOB_WELCOME_EMAIL}", "args": {{"to": "a@example.com", "name": "A"}}}}',
        headers={**TOKEN, "Content-Type": content_type},
    )
    assert response.status_code == 415, response.get_data(as_text=True)
    assert "send application/json" in response.json["error"]["message"]
    after = metric(app, "loom_worker_jobs_refused_total", reason="unsupported_media_type")
    assert after == before + 1
