"""Loki's push API (JSON): python-logging-loki, unmodified, and hand-made bodies."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from types import ModuleType
from typing import Any

import logging_loki
import pytest
from flask.testing import FlaskClient

Counter = Callable[..., float]
Found = Callable[..., list[dict[str, Any]]]
INGEST = {"Authorization": "Bearer ingest-token-1"}
NS_2030 = "1893456000000000000"  # 2030-01-01T00:00:00Z in nanoseconds


def test_python_logging_loki_lines_are_found_with_labels_as_fields(
    consumer: ModuleType, http_port: int, found: Found
) -> None:
    marker = secrets.token_hex(6)
    handler = logging_loki.LokiHandler(
        url=f"http://127.0.0.1:{http_port}/loki/api/v1/push",
        tags={"service": "shop", "host": "loki-host", "region": "eu"},
        auth=("anyone", "ingest-token-2"),
        version="1",
    )
    log = logging.getLogger(f"loki-test-{marker}")
    log.propagate = False
    log.addHandler(handler)
    log.warning("loki %s careful", marker)
    log.error("loki %s failed", marker, extra={"tags": {"request_id": f"req-{marker}"}})

    items = found(2, q=f"loki {marker}")
    failed, careful = items if items[0]["level"] == "ERROR" else items[::-1]
    assert (careful["level"], careful["service"], careful["host"]) == (
        "WARNING",
        "shop",
        "loki-host",
    )
    assert careful["fields"] == {"region": "eu"}
    assert careful["logger"] == log.name
    assert failed["request_id"] == f"req-{marker}"


def test_old_push_form_and_structured_metadata(
    client: FlaskClient, drain_queue: Callable[[str], list[dict[str, Any]]]
) -> None:
    marker = secrets.token_hex(6)
    body = {
        "streams": [
            {
                "stream": {"app": "api", "level": "warn"},
                "values": [[NS_2030, marker, {"trace": "t1"}]],
            },
            {
                "labels": '{job="cron", severity="error", path="a\\"b"}',
                "entries": [{"ts": "2030-01-01T00:00:01Z", "line": marker}],
            },
        ]
    }
    assert client.post("/loki/api/v1/push", json=body, headers=INGEST).status_code == 204
    records = [
        record
        for message in drain_queue("logs")
        for record in message["kwargs"]["records"]
        if record["message"] == marker
    ]
    assert [(r["service"], r["level"], r["time"], r["fields"]) for r in records] == [
        ("api", "WARNING", "2030-01-01T00:00:00+00:00", {"trace": "t1"}),
        ("cron", "ERROR", "2030-01-01T00:00:01+00:00", {"path": 'a"b'}),
    ]


def test_bad_lines_are_refused_alone_and_all_bad_is_400(
    client: FlaskClient, counter: Counter
) -> None:
    before = counter("loom_logs_records_rejected_total", reason="invalid_time")
    body = {"streams": [{"stream": {}, "values": [["yesterday", "x"], [NS_2030, "fine"]]}]}
    assert client.post("/loki/api/v1/push", json=body, headers=INGEST).status_code == 204
    assert counter("loom_logs_records_rejected_total", reason="invalid_time") - before == 1

    response = client.post("/loki/api/v1/push", json={"streams": 5}, headers=INGEST)
    assert response.status_code == 400
    assert "streams" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({"Content-Type": "application/x-protobuf"}, 415, "unsupported_media_type"),
        ({"Content-Type": "application/json", "Authorization": "Bearer nope"}, 401, "unauthorized"),
    ],
)
def test_protobuf_and_unknown_tokens_are_refused_and_counted(
    client: FlaskClient, counter: Counter, headers: dict[str, str], status: int, reason: str
) -> None:
    before = counter("loom_logs_ingest_refused_total", source="loki", reason=reason)
    response = client.post("/loki/api/v1/push", data=b"\x00\x01", headers={**INGEST, **headers})
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    assert counter("loom_logs_ingest_refused_total", source="loki", reason=reason) - before == 1
