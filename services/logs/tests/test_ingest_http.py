"""POST /api/ingest: tokens, JSON arrays and JSON lines, bad records refused alone, size limits."""

from __future__ import annotations

import gzip
import secrets
from collections import Counter as Tally
from collections.abc import Callable
from types import ModuleType
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

RecordFactory = Callable[..., dict[str, Any]]
Counter = Callable[..., float]
Found = Callable[..., list[dict[str, Any]]]
INGEST = {"Authorization": "Bearer ingest-token-1"}


def _refused(counter: Counter, source: str, reason: str) -> float:
    return counter("loom_logs_ingest_refused_total", source=source, reason=reason)


def test_a_json_array_is_stored_and_bad_records_are_refused_alone(
    consumer: ModuleType,
    client: FlaskClient,
    make_record: RecordFactory,
    counter: Counter,
    found: Found,
) -> None:
    marker = secrets.token_hex(6)
    before = counter("loom_logs_records_rejected_total", reason="missing_time")
    batch = [
        make_record(message=f"ingest {marker} one", service="billing"),
        {"message": f"ingest {marker} without a time"},
        make_record(message=f"ingest {marker} two", fields={"order": 7}),
    ]
    response = client.post("/api/ingest", json=batch, headers=INGEST)

    assert response.status_code == 202
    report = response.get_json()
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert report["rejections"][0]["index"] == 1
    assert report["rejections"][0]["reason"] == "missing_time"
    assert counter("loom_logs_records_rejected_total", reason="missing_time") - before == 1
    items = found(2, q=f"ingest {marker}")
    assert {item["message"] for item in items} == {f"ingest {marker} one", f"ingest {marker} two"}
    assert {item["service"] for item in items} == {"billing", "web"}


def test_json_lines_gzipped_with_one_broken_line(
    consumer: ModuleType, client: FlaskClient, make_record: RecordFactory, found: Found
) -> None:
    marker = secrets.token_hex(6)
    lines = [
        orjson.dumps(make_record(message=f"lines {marker} a")),
        b"{not json",
        b"",
        orjson.dumps(make_record(message=f"lines {marker} b")),
    ]
    body = gzip.compress(b"\n".join(lines))
    response = client.post(
        "/api/ingest",
        data=body,
        headers={**INGEST, "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 202
    report = response.get_json()
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert report["rejections"][0]["reason"] == "malformed_json"
    assert len(found(2, q=f"lines {marker}")) == 2


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dXNlcjp3cm9uZw=="}],
)
def test_without_a_known_token_nothing_is_taken(
    client: FlaskClient, make_record: RecordFactory, counter: Counter, headers: dict[str, str]
) -> None:
    before = _refused(counter, "api", "unauthorized")
    response = client.post("/api/ingest", json=[make_record()], headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert _refused(counter, "api", "unauthorized") - before == 1


def test_the_operator_token_basic_auth_and_token_parameter_are_accepted(
    client: FlaskClient, make_record: RecordFactory, auth: dict[str, str]
) -> None:
    basic = {"Authorization": "Basic dXNlcjppbmdlc3QtdG9rZW4tMg=="}  # user:ingest-token-2
    assert client.post("/api/ingest", json=[make_record()], headers=auth).status_code == 202
    assert client.post("/api/ingest", json=[make_record()], headers=basic).status_code == 202
    url = "/api/ingest?token=ingest-token-1"
    assert client.post(url, json=[make_record()]).status_code == 202


def test_a_record_over_the_size_limit_is_refused_alone(
    client: FlaskClient, make_record: RecordFactory, counter: Counter
) -> None:
    before = counter("loom_logs_records_rejected_total", reason="record_too_large")
    huge = make_record(message="x" * (70 * 1024))
    response = client.post("/api/ingest", json=[make_record(), huge], headers=INGEST)
    assert response.status_code == 202
    assert response.get_json()["rejections"][0] == {
        "index": 1,
        "reason": "record_too_large",
        "message": "record_too_large: larger than 65536 bytes",
    }
    assert counter("loom_logs_records_rejected_total", reason="record_too_large") - before == 1


def test_bodies_over_the_limit_get_413_compressed_or_not(
    client: FlaskClient, counter: Counter
) -> None:
    limit = 5 * 1024 * 1024
    before = _refused(counter, "api", "body_too_large")
    big = b"[" + b" " * limit + b"]"
    response = client.post(
        "/api/ingest", data=big, headers={**INGEST, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert _refused(counter, "api", "body_too_large") - before == 1

    bomb_before = _refused(counter, "api", "decompressed_too_large")
    bomb = gzip.compress(b"[" + b" " * (limit * 4) + b"]")
    assert len(bomb) < 100_000
    response = client.post("/api/ingest", data=bomb, headers=INGEST)
    assert response.status_code == 413
    assert "decompressed" in response.get_json()["error"]["message"]
    assert _refused(counter, "api", "decompressed_too_large") - bomb_before == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"", "application/json", 400),
        (b"[1, 2", "application/json", 400),
        (b"\x1f\x8bnot really gzip", "application/octet-stream", 400),
    ],
)
def test_malformed_bodies_get_a_clear_400_and_are_counted(
    client: FlaskClient, counter: Counter, body: bytes, content_type: str, status: int
) -> None:
    def refusals() -> float:
        return sum(
            _refused(counter, "api", reason)
            for reason in ("empty_body", "malformed_json", "bad_compression", "bad_request")
        )

    before = refusals()
    response = client.post(
        "/api/ingest", data=body, headers={**INGEST, "Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    assert refusals() - before == 1


def test_refusals_show_on_metrics(client: FlaskClient) -> None:
    client.post("/api/ingest", json=[{}])
    text = client.get("/metrics").get_data(as_text=True)
    assert 'loom_logs_ingest_refused_total{reason="unauthorized",source="api"}' in text


def _gelf_message(marker: str) -> dict[str, Any]:
    return {"version": "1.1", "host": "h", "short_message": marker}


def _loki_push(lines: list[str]) -> dict[str, Any]:
    # Three streams, so that the lines must be counted across streams, not within one.
    thirds = [lines[index::3] for index in range(3)]
    return {
        "streams": [
            {"stream": {"app": f"a{n}"}, "values": [["1893456000000000000", line] for line in part]}
            for n, part in enumerate(thirds)
        ]
    }


@pytest.mark.parametrize(
    ("path", "source", "body"),
    [
        (
            "/api/ingest",
            "api",
            lambda lines: [{"time": "2030-01-01T00:00:00Z", "message": m} for m in lines],
        ),
        ("/gelf", "gelf_http", lambda lines: [_gelf_message(m) for m in lines]),
        ("/loki/api/v1/push", "loki", _loki_push),
    ],
)
def test_every_http_input_refuses_more_records_than_max_records_per_request(
    client: FlaskClient,
    counter: Counter,
    published: Callable[[], list[dict[str, Any]]],
    path: str,
    source: str,
    body: Callable[[list[str]], Any],
) -> None:
    refused, taken = secrets.token_hex(6), secrets.token_hex(6)
    before = _refused(counter, source, "too_many_records")
    response = client.post(path, json=body([refused] * 10_001), headers=INGEST)
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == "more than 10000 records in one request"
    assert _refused(counter, source, "too_many_records") - before == 1

    response = client.post(path, json=body([taken] * 10_000), headers=INGEST)
    assert response.status_code in (202, 204)  # at the limit, everything is taken
    counts = Tally(record["message"] for record in published())
    assert (counts[refused], counts[taken]) == (0, 10_000)


def _nested(depth: int, inner: Any = 1) -> Any:
    for level in range(depth):
        inner = [inner] if level % 2 else {"k": inner}
    return inner


def test_unknown_keys_are_not_published_however_deep(
    client: FlaskClient,
    make_record: RecordFactory,
    published: Callable[[], list[dict[str, Any]]],
) -> None:
    # 300 levels is past the JSON encoder's limit: published raw, it used to fail as a 500.
    marker = secrets.token_hex(6)
    record = make_record(message=marker, fields={"order": 7}, unknown=_nested(300))
    response = client.post("/api/ingest", json=[record], headers=INGEST)
    assert response.status_code == 202
    assert response.get_json()["accepted"] == 1
    records = [record for record in published() if record["message"] == marker]
    assert len(records) == 1
    assert "unknown" not in records[0]
    assert records[0]["fields"] == {"order": 7}


def test_fields_nested_past_the_bound_are_refused_alone(
    client: FlaskClient, make_record: RecordFactory, counter: Counter
) -> None:
    before = counter("loom_logs_records_rejected_total", reason="invalid_fields")
    records = [make_record(fields={"fine": _nested(31)}), make_record(fields={"deep": _nested(32)})]
    response = client.post("/api/ingest", json=records, headers=INGEST)
    assert response.status_code == 202
    assert response.get_json()["accepted"] == 1
    assert response.get_json()["rejections"] == [
        {
            "index": 1,
            "reason": "invalid_fields",
            "message": "invalid_fields: nested deeper than 32 levels",
        }
    ]
    assert counter("loom_logs_records_rejected_total", reason="invalid_fields") - before == 1
