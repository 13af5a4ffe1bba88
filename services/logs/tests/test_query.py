"""Structured-field filters, context around a record, the histogram and delete by query."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
RecordFactory = Callable[..., dict[str, Any]]
Store = Callable[[list[Any]], None]


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def _get(client: FlaskClient, auth: dict[str, str], path: str, **params: Any) -> Any:
    response = client.get(path, query_string=params, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _messages(client: FlaskClient, auth: dict[str, str], **params: Any) -> list[str]:
    return [item["message"] for item in _get(client, auth, "/api/logs", **params)["items"]]


def test_field_filters_match_values_as_text_and_all_must_hold(
    client: FlaskClient, auth: dict[str, str], store: Store, make_record: RecordFactory
) -> None:
    store(
        [
            make_record(time=_at(1), message="paid", fields={"order.id": 7, "user": "ada"}),
            make_record(time=_at(2), message="refunded", fields={"order.id": "7", "user": "bob"}),
            make_record(time=_at(3), message="other", fields={"order.id": 8, "note": "a=b"}),
        ]
    )
    assert _messages(client, auth, field="order.id=7") == ["refunded", "paid"]
    assert _messages(client, auth, field=["order.id=7", "user=ada"]) == ["paid"]
    assert _messages(client, auth, field="note=a=b") == ["other"]  # split at the first =
    assert _messages(client, auth, field="missing=1") == []


@pytest.mark.parametrize("value", ["no-equals", "bad name=1", '"q"=1', "=1"])
def test_a_malformed_field_filter_is_422_naming_field(
    client: FlaskClient, auth: dict[str, str], value: str
) -> None:
    response = client.get("/api/logs", query_string={"field": value}, headers=auth)
    assert response.status_code == 422
    assert any(name.startswith("field") for name in response.get_json()["error"]["fields"])


def test_context_is_the_neighbours_from_the_same_service_and_host(
    client: FlaskClient, auth: dict[str, str], store: Store, make_record: RecordFactory
) -> None:
    store(
        [make_record(time=_at(i), message=f"web {i}") for i in range(10)]
        + [
            make_record(time=_at(i + 0.5), message=f"worker {i}", service="worker")
            for i in range(10)
        ]
        + [make_record(time=_at(i + 0.2), message=f"other host {i}", host="h2") for i in range(10)]
    )
    pivot = _get(client, auth, "/api/logs", q="web", field=[], service="web", limit=1000)
    by_message = {item["message"]: item["id"] for item in pivot["items"] if item["host"] != "h2"}
    body = _get(client, auth, f"/api/logs/{by_message['web 5']}/context", before=2, after=3)
    assert [r["message"] for r in body["before"]] == ["web 3", "web 4"]
    assert body["record"]["message"] == "web 5"
    assert [r["message"] for r in body["after"]] == ["web 6", "web 7", "web 8"]

    edge = _get(client, auth, f"/api/logs/{by_message['web 0']}/context")
    assert edge["before"] == []
    assert len(edge["after"]) == 9


def test_context_of_an_unknown_record_is_404(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get("/api/logs/999999/context", headers=auth)
    assert response.status_code == 404
    assert "999999" in response.get_json()["error"]["message"]


def test_histogram_counts_per_interval_with_empty_buckets_and_filters(
    client: FlaskClient, auth: dict[str, str], store: Store, make_record: RecordFactory
) -> None:
    store(
        [make_record(time=_at(s), message="tick") for s in (0, 10, 59, 61, 185)]
        + [make_record(time=_at(30), message="tock", service="worker")]
    )
    body = _get(client, auth, "/api/logs/histogram", interval="1m", service="web")
    assert body["interval_seconds"] == 60
    counts = [(b["start"][11:19], b["count"]) for b in body["buckets"]]
    assert counts == [("12:00:00", 3), ("12:01:00", 1), ("12:02:00", 0), ("12:03:00", 1)]

    ranged = _get(
        client, auth, "/api/logs/histogram", interval="30s", since=_at(-60), until=_at(60), q="tock"
    )
    assert [b["count"] for b in ranged["buckets"]] == [0, 0, 0, 1]


@pytest.mark.parametrize(
    "params",
    [
        {"interval": "5x"},
        {"interval": "0m"},
        {"interval": "1s", "since": _at(0), "until": _at(86_400)},
    ],
)
def test_a_bad_histogram_interval_is_422(
    client: FlaskClient, auth: dict[str, str], params: dict[str, str]
) -> None:
    response = client.get("/api/logs/histogram", query_string=params, headers=auth)
    assert response.status_code == 422
    assert "interval" in response.get_json()["error"]["fields"]


def test_delete_by_query_removes_only_matches_and_needs_a_filter(
    client: FlaskClient, auth: dict[str, str], store: Store, make_record: RecordFactory
) -> None:
    store(
        [
            make_record(time=_at(1), message="secret token leaked", service="web"),
            make_record(time=_at(2), message="secret token leaked", service="worker"),
            make_record(time=_at(3), message="fine", service="web"),
        ]
    )
    everything = client.delete("/api/logs", headers=auth)
    assert everything.status_code == 400
    assert "at least one filter" in everything.get_json()["error"]["message"]

    response = client.delete(
        "/api/logs", query_string={"q": "secret", "service": "web"}, headers=auth
    )
    assert response.status_code == 200
    assert response.get_json() == {"deleted": 1}
    assert _messages(client, auth) == ["fine", "secret token leaked"]
    assert _messages(client, auth, q="secret", service="web") == []


def test_only_the_operator_may_delete(client: FlaskClient) -> None:
    response = client.delete(
        "/api/logs", query_string={"q": "x"}, headers={"Authorization": "Bearer ingest-token-1"}
    )
    assert response.status_code in (401, 403)


def test_openapi_documents_ingest_query_and_tail(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {
        "/api/ingest",
        "/gelf",
        "/loki/api/v1/push",
        "/api/tail",
        "/api/logs/histogram",
        "/api/logs/{record_id}/context",
    } <= set(paths)
    assert "delete" in paths["/api/logs"]


def test_text_in_a_time_range_finds_records_that_arrived_late(
    client: FlaskClient, auth: dict[str, str], store: Store, make_record: RecordFactory
) -> None:
    # Ids follow arrival, not time: the late record has the highest id and the oldest time.
    store([make_record(time=_at(60 + n), message=f"payment {n}") for n in range(5)])
    store([make_record(time=_at(600), message="payment later")])
    store([make_record(time=_at(61.5), message="payment arrived late")])
    found = _messages(client, auth, q="payment", since=_at(61), until=_at(63))
    assert found == ["payment 2", "payment arrived late", "payment 1"]
    assert _messages(client, auth, q="payment", since=_at(5000)) == []
