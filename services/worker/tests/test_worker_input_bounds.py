"""What the worker API answers to numbers no database can hold (past 64 bits)."""

from __future__ import annotations

from flask import Flask
from helpers import TOKEN, enqueue

from loom_common.contracts import JOB_PROJECT_EXPORT
from loom_common.cursors import encode_cursor

PAST_BIGINT = 2**63  # one past the largest BIGINT; JSON and pydantic still take it as an int


def test_a_cursor_holding_a_number_past_64_bits_is_400(app: Flask) -> None:
    cursor = encode_cursor("jobs", "2026-01-01T00:00:00+00:00", PAST_BIGINT)
    response = app.test_client().get("/api/jobs", query_string={"cursor": cursor}, headers=TOKEN)
    assert response.status_code == 400, response.json
    assert "cursor" in response.json["error"]["message"]


def test_job_arguments_holding_ids_past_64_bits_are_422_naming_them(app: Flask) -> None:
    response = enqueue(
        app, JOB_PROJECT_EXPORT, {"project_id": PAST_BIGINT, "requested_by": PAST_BIGINT}
    )
    assert response.status_code == 422, response.json
    assert set(response.json["error"]["fields"]) == {"args.project_id", "args.requested_by"}
