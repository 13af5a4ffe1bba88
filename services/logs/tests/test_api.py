"""GET /api/logs: filters, full-text search, pagination, auth and input errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


RecordFactory = Callable[..., dict[str, Any]]
Search = Callable[..., dict[str, Any]]
Messages = Callable[..., list[str]]


@pytest.fixture
def search(client: FlaskClient, auth: dict[str, str]) -> Search:
    """GET /api/logs with the token; ``raw_query`` (e.g. "?service=a&service=b") or params."""

    def get(raw_query: str = "", **params: Any) -> dict[str, Any]:
        response = client.get(f"/api/logs{raw_query}", query_string=params or None, headers=auth)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    return get


@pytest.fixture
def messages(search: Search) -> Messages:
    def get(raw_query: str = "", **params: Any) -> list[str]:
        return [item["message"] for item in search(raw_query, **params)["items"]]

    return get


@pytest.fixture
def seeded(store: Callable[[list[Any]], None], make_record: RecordFactory) -> None:
    store(
        [
            make_record(time=_at(0), service="web", level="DEBUG", message="cache warmed"),
            make_record(
                time=_at(1),
                service="web",
                level="INFO",
                message="user signed in",
                request_id="req-1",
            ),
            make_record(
                time=_at(2),
                service="worker",
                level="WARNING",
                message="connection refused by broker, retrying",
                request_id="req-1",
            ),
            make_record(
                time=_at(3), service="errors", level="ERROR", message="broker refused connection"
            ),
            make_record(time=_at(4), service="logs", level="CRITICAL", message="disk full"),
            make_record(
                time=_at(5),
                service="web",
                level="SUCCESS",
                message="deploy finished",
                fields={"version": "1.2.3", "attempt": 2},
            ),
        ]
    )


def test_items_are_newest_first_with_every_stored_field(
    search: Search, messages: Messages, seeded: None
) -> None:
    body = search()
    assert body["next_cursor"] is None
    assert [item["message"] for item in body["items"]][:2] == ["deploy finished", "disk full"]
    first = body["items"][0]
    assert first["time"] in ("2030-01-01T12:05:00Z", "2030-01-01T12:05:00+00:00")
    assert first["fields"] == {"version": "1.2.3", "attempt": 2}
    assert {
        "id",
        "time",
        "level",
        "level_no",
        "service",
        "env",
        "host",
        "logger",
        "function",
        "line",
        "process",
        "thread",
        "message",
        "request_id",
        "exception",
        "fields",
    } <= set(first)
    assert (first["level"], first["level_no"], first["service"]) == ("SUCCESS", 25, "web")


def test_filter_by_service_repeated_or_comma_separated(
    search: Search, messages: Messages, seeded: None
) -> None:
    assert messages(service="worker") == ["connection refused by broker, retrying"]
    expected = ["disk full", "connection refused by broker, retrying"]
    assert messages("?service=worker&service=logs") == expected
    assert messages(service="worker, logs") == expected


def test_level_is_a_minimum_in_any_case(search: Search, messages: Messages, seeded: None) -> None:
    assert messages(level="warning") == [
        "disk full",
        "broker refused connection",
        "connection refused by broker, retrying",
    ]
    assert len(messages(level="TRACE")) == 6
    assert messages(level="Critical") == ["disk full"]


def test_filter_by_request_id(search: Search, messages: Messages, seeded: None) -> None:
    assert messages(request_id="req-1") == [
        "connection refused by broker, retrying",
        "user signed in",
    ]


def test_q_words_must_all_match_in_any_order(
    search: Search, messages: Messages, seeded: None
) -> None:
    both = ["broker refused connection", "connection refused by broker, retrying"]
    assert messages(q="refused broker") == both
    assert messages(q="broker refused connection") == both
    assert messages(q="refused disk") == []
    assert messages(q="retry") == ["connection refused by broker, retrying"]  # prefix


def test_q_quoted_phrase_is_one_term(search: Search, messages: Messages, seeded: None) -> None:
    assert messages(q='"broker refused"') == ["broker refused connection"]
    assert messages(q='"refused by" connection') == ["connection refused by broker, retrying"]
    assert messages(q='"refused broker"') == []


def test_q_of_punctuation_or_fts_syntax_does_not_fail(
    search: Search, messages: Messages, seeded: None
) -> None:
    for q in ["--", '"', "AND", "NOT disk", "disk*", "(disk", "broker:x", '""']:
        search(q=q)
    assert messages(q="disk NOT") == []  # NOT is a word here, not an operator


def test_time_range_since_inclusive_until_exclusive(
    search: Search, messages: Messages, seeded: None
) -> None:
    assert messages(since=_at(3), until=_at(5)) == ["disk full", "broker refused connection"]
    naive = (T0 + timedelta(minutes=4)).replace(tzinfo=None).isoformat()
    assert messages(since=naive) == ["deploy finished", "disk full"]
    with_offset = (T0 + timedelta(minutes=4)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert messages(until=with_offset) == messages(until=_at(4))


def test_filters_combine(search: Search, messages: Messages, seeded: None) -> None:
    assert messages(service="web,worker", level="info", q="connection") == [
        "connection refused by broker, retrying"
    ]


def test_cursor_pages_have_no_duplicates_or_gaps(
    search: Search, store: Callable[[list[Any]], None], make_record: RecordFactory
) -> None:
    # Several records share a timestamp, so ordering must break ties by id.
    store([make_record(time=_at(i // 3), message=f"line {i}") for i in range(25)])
    everything = [item["id"] for item in search(limit=1000)["items"]]
    assert len(everything) == 25

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        body = search(**params)
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert seen == everything


def test_cursor_keeps_filters_applied(search: Search, messages: Messages, seeded: None) -> None:
    first = search(service="web", limit=2)
    assert [i["message"] for i in first["items"]] == ["deploy finished", "user signed in"]
    rest = search(service="web", limit=2, cursor=first["next_cursor"])
    assert [i["message"] for i in rest["items"]] == ["cache warmed"]
    assert rest["next_cursor"] is None


def test_limit_defaults_to_100(
    search: Search, store: Callable[[list[Any]], None], make_record: RecordFactory
) -> None:
    store([make_record(time=_at(i), message=f"n{i}") for i in range(101)])
    body = search()
    assert len(body["items"]) == 100
    assert body["next_cursor"] is not None


def test_api_needs_the_bearer_token(client: FlaskClient) -> None:
    response = client.get("/api/logs")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    wrong = client.get("/api/logs", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"level": "LOUD"}, "level"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"since": "last tuesday"}, "since"),
    ],
)
def test_invalid_parameters_give_422_naming_the_field(
    client: FlaskClient, auth: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = client.get("/api/logs", query_string=params, headers=auth)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]


@pytest.mark.parametrize("cursor", ["garbage!", "bm90IGpzb24", "WyJ4IiwxXQ", "WzEsMl0"])
def test_a_bad_cursor_gives_400(client: FlaskClient, auth: dict[str, str], cursor: str) -> None:
    response = client.get("/api/logs", query_string={"cursor": cursor}, headers=auth)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert "cursor" in error["message"]


def test_openapi_documents_the_search(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    operation = document["paths"]["/api/logs"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"service", "level", "request_id", "q", "since", "until", "limit", "cursor"} <= names
