"""Loki's push API (JSON): python-logging-loki, unmodified, and hand-made bodies."""

from __future__ import annotations

import gzip
import logging
import secrets
import tracemalloc
from collections.abc import Callable
from types import ModuleType
from typing import Any

import logging_loki
import orjson
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
    client: FlaskClient, published: Callable[[], list[dict[str, Any]]]
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
    records = [record for record in published() if record["message"] == marker]
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


def _labels(count: int, value: str = "v") -> dict[str, str]:
    return {f"label_{number:05d}": value for number in range(count)}


def test_a_label_bomb_is_refused_before_any_line_is_built(
    client: FlaskClient, counter: Counter
) -> None:
    # One stream of thousands of labels and many lines: a small gzip body that, with the labels
    # copied onto every line, used to become gigabytes of records.
    stream = {"stream": _labels(5_000), "values": [[NS_2030, "x"]] * 9_000}
    body = gzip.compress(orjson.dumps({"streams": [stream]}), 9)
    assert len(body) < 20 * 1024
    before = counter("loom_logs_ingest_refused_total", source="loki", reason="labels_over_limit")

    tracemalloc.start()
    try:
        response = client.post(
            "/loki/api/v1/push",
            data=body,
            headers={**INGEST, "Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "a stream has 5000 labels, more than 30"
    assert peak < 50 * 1024 * 1024
    after = counter("loom_logs_ingest_refused_total", source="loki", reason="labels_over_limit")
    assert after - before == 1


def test_a_full_push_shares_its_labels_between_lines(
    client: FlaskClient, published: Callable[[], list[dict[str, Any]]]
) -> None:
    # 30 labels of 200 bytes on each of 1,300 lines: ~7.8 MB of labels once repeated, within
    # the bound; building it must not cost a copy of the labels per line.
    marker = secrets.token_hex(6)
    stream = {"stream": _labels(30, "v" * 200), "values": [[NS_2030, marker]] * 1_300}
    tracemalloc.start()
    try:
        response = client.post("/loki/api/v1/push", json={"streams": [stream]}, headers=INGEST)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 204
    assert peak < 50 * 1024 * 1024
    records = [record for record in published() if record["message"] == marker]
    assert len(records) == 1_300
    assert records[0]["fields"] == _labels(30, "v" * 200)


@pytest.mark.parametrize(
    ("stream", "status", "message"),
    [
        (
            {"stream": {"a": "v" * 2049}, "values": [[NS_2030, "x"]]},
            400,
            "label 'a' has a value longer than 2048 bytes",
        ),
        (
            {"stream": {"n" * 1025: "v"}, "values": [[NS_2030, "x"]]},
            400,
            "a label name is longer than 1024 bytes",
        ),
        (
            {"labels": "{" + ", ".join(f'l{n}="v"' for n in range(31)) + "}", "entries": []},
            400,
            "a stream has 31 labels, more than 30",
        ),
        (
            {"stream": {"a": {"nested": "no"}}, "values": [[NS_2030, "x"]]},
            400,
            "label 'a' must be a string",
        ),
        (
            # 20 labels of ~1 KB on 500 lines: 10 MB of labels once repeated on every line.
            {"stream": _labels(20, "v" * 1_000), "values": [[NS_2030, "x"]] * 500},
            413,
            "the labels, repeated on each of their lines, exceed 8388608 bytes",
        ),
    ],
)
def test_labels_past_a_bound_refuse_the_push_naming_it(
    client: FlaskClient, counter: Counter, stream: dict[str, Any], status: int, message: str
) -> None:
    before = counter("loom_logs_ingest_refused_total", source="loki", reason="labels_over_limit")
    response = client.post("/loki/api/v1/push", json={"streams": [stream]}, headers=INGEST)
    assert response.status_code == status
    assert response.get_json()["error"]["message"] == message
    after = counter("loom_logs_ingest_refused_total", source="loki", reason="labels_over_limit")
    assert after - before == 1
