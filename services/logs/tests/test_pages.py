"""The operator pages: sign-in, the search page's filters, histogram and paging, one request
across services, escaping of whatever a log line carries, and the page's live tail."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.db import Database
from loom_common.flask_app import app_database
from loom_common.settings import DEFAULT_API_TOKEN, Settings
from loom_common.testing import (
    DEPLOYED_API_TOKEN,
    OPERATOR_SESSION_CHECKS,
    check_a_rotated_token_ends_the_sessions,
    sign_in_operator,
    temporary_postgres_database,
    wait_until,
)
from loom_logs.app import create_app
from loom_logs.config import LogsConfig
from loom_logs.store.insert import store_records

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
RecordFactory = Callable[..., dict[str, Any]]
Store = Callable[[list[Any]], None]


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def operator(client: FlaskClient) -> FlaskClient:
    """The test client, signed in as the operator."""
    sign_in_operator(client)
    return client


def shown_messages(html: str) -> list[str]:
    """The one-line messages of the results, top to bottom, as the reader sees them."""
    results = html.split('id="results"', 1)[1]
    return [unescape(m) for m in re.findall(r'<span class="message">(.*?)</span>', results)]


def page(client: FlaskClient, path: str = "/", **params: Any) -> str:
    response = client.get(path, query_string=params or None)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/?request_id=abc", "/requests/abc", "/tail"])
def test_every_page_sends_a_stranger_to_sign_in_operator(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_search_applies_the_api_filters_newest_first(
    operator: FlaskClient, store: Store, make_record: RecordFactory
) -> None:
    store(
        [
            make_record(time=_at(1), message="card declined for order", service="web"),
            make_record(
                time=_at(2), message="declined card retried", service="worker", level="WARNING"
            ),
            make_record(
                time=_at(3),
                message="card declined again",
                service="worker",
                level="ERROR",
                request_id="req-1",
                fields={"order.id": 7},
            ),
            make_record(time=_at(4), message="all good", service="errors", level="DEBUG"),
        ]
    )
    assert shown_messages(page(operator)) == [
        "all good",
        "card declined again",
        "declined card retried",
        "card declined for order",
    ]
    assert shown_messages(page(operator, q='"card declined"')) == [
        "card declined again",
        "card declined for order",
    ]
    assert shown_messages(page(operator, service="worker,errors", level="warning")) == [
        "card declined again",
        "declined card retried",
    ]
    assert shown_messages(page(operator, request_id="req-1")) == ["card declined again"]
    assert shown_messages(page(operator, field=["order.id=7", ""])) == ["card declined again"]
    assert shown_messages(page(operator, since=_at(2), until=_at(4))) == [
        "card declined again",
        "declined card retried",
    ]
    # Blank inputs, as a form sends them, are no filter at all.
    blank = page(operator, q="", service="", level="", request_id="", since="", last="")
    assert len(shown_messages(blank)) == 4


def test_recent_spans_count_back_from_now(
    operator: FlaskClient, store: Store, make_record: RecordFactory
) -> None:
    now = datetime.now(UTC)
    store(
        [
            make_record(time=(now - timedelta(hours=2)).isoformat(), message="two hours ago"),
            make_record(time=(now - timedelta(minutes=5)).isoformat(), message="just now"),
        ]
    )
    assert shown_messages(page(operator, last="1h")) == ["just now"]
    assert shown_messages(page(operator, last="24h")) == ["just now", "two hours ago"]
    # An explicit since wins over the shorthand.
    since = (now - timedelta(hours=3)).isoformat()
    assert len(shown_messages(page(operator, last="15m", since=since))) == 2


def test_bad_filters_are_named_on_the_page_and_counted(
    operator: FlaskClient, counter: Callable[..., float]
) -> None:
    before = counter("loom_logs_page_queries_refused_total", reason="invalid_filters")
    response = operator.get("/", query_string={"level": "LOUD", "field": "no-equals"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<code>level</code>" in html and "<code>field</code>" in html
    assert counter("loom_logs_page_queries_refused_total", reason="invalid_filters") == before + 1

    response = operator.get("/", query_string={"cursor": "garbage"})
    assert response.status_code == 400
    assert "invalid cursor" in response.get_data(as_text=True)
    assert operator.get("/", query_string={"last": "3 weeks"}).status_code == 422


def test_results_page_back_with_a_cursor_and_keep_the_filters(
    operator: FlaskClient, store: Store, make_record: RecordFactory
) -> None:
    store([make_record(time=_at(i), message=f"line {i:02d}", service="web") for i in range(30)])
    store([make_record(time=_at(100), message="other service", service="worker")])
    seen: list[str] = []
    html = page(operator, service="web", limit=12)
    while True:
        seen.extend(shown_messages(html))
        older = re.search(r'id="older" href="([^"]+)"', html)
        if older is None:
            break
        html = page(operator, "/" + unescape(older.group(1)))
    assert seen == [f"line {i:02d}" for i in reversed(range(30))]
    assert 'id="newest"' in html


def test_the_histogram_counts_the_same_filters(
    operator: FlaskClient, store: Store, make_record: RecordFactory
) -> None:
    store(
        [make_record(time=_at(i), message="early", service="web") for i in range(5)]
        + [make_record(time=_at(600 + i), message="late", service="web") for i in range(3)]
        + [make_record(time=_at(300), message="elsewhere", service="worker")]
    )
    html = page(operator, service="web")
    counts = [int(count) for count in re.findall(r'data-count="(\d+)"', html)]
    assert sum(counts) == 8 and counts[0] == 5 and counts[-1] == 3
    assert set(counts[1:-1]) == {0}  # the worker line in between is filtered out

    # A bar links to the same search narrowed to its interval.
    first_bar = unescape(re.findall(r'<a href="(\?[^"]+)"><rect', html)[0])
    assert shown_messages(page(operator, "/" + first_bar)) == ["early"] * 5


def test_record_data_is_escaped_everywhere_it_is_shown(
    operator: FlaskClient, store: Store, make_record: RecordFactory
) -> None:
    attack = "<script>alert(1)</script>"
    store(
        [
            make_record(
                time=_at(1),
                message=f"{attack}\nsecond line {attack}",
                service=f"web{attack}",
                request_id=f"r{attack}",
                exception=f"Traceback {attack}",
                fields={attack: attack, "nested": {"x": attack}},
            )
        ]
    )
    for html in (page(operator), page(operator, "/requests/" + f"r{attack}")):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert shown_messages(page(operator)) == [attack]
    assert "script-src 'self'" in operator.get("/").headers["Content-Security-Policy"]


def test_a_request_page_shows_every_service_oldest_first_and_links_to_errors(
    operator: FlaskClient, store: Store, make_record: RecordFactory, settings: Settings
) -> None:
    store(
        [
            make_record(time=_at(3), message="job done", service="worker", request_id="req-9"),
            make_record(time=_at(1), message="POST /api/x", service="web", request_id="req-9"),
            make_record(time=_at(4), message="stored event", service="errors", request_id="req-9"),
            make_record(time=_at(2), message="queued job", service="web", request_id="req-9"),
            make_record(time=_at(5), message="batch stored", service="logs", request_id="req-9"),
            make_record(time=_at(6), message="another request", service="web", request_id="x"),
        ]
    )
    html = page(operator, "/requests/req-9")
    assert shown_messages(html) == [
        "POST /api/x",
        "queued job",
        "job done",
        "stored event",
        "batch stored",
    ]
    assert "errors, logs, web, worker" in html
    errors_link = re.search(r'id="errors-link" href="([^"]+)"', html)
    assert errors_link is not None
    assert unescape(errors_link.group(1)) == f"{settings.service_url('errors')}/?request_id=req-9"
    assert "No log lines carry this request id." in page(operator, "/requests/unknown")


def test_search_results_link_each_request_id_to_its_page(
    operator: FlaskClient, store: Store, make_record: RecordFactory
) -> None:
    store([make_record(time=_at(1), message="with id", request_id="abc/def 1")])
    html = page(operator)
    link = re.search(r'class="request-id" href="([^"]+)"', html)
    assert link is not None
    assert shown_messages(page(operator, unescape(link.group(1)))) == ["with id"]


@pytest.mark.parametrize("check", OPERATOR_SESSION_CHECKS)
def test_operator_sessions_end_and_wrong_tokens_are_limited(
    app: Flask, check: Callable[[Flask, str], None]
) -> None:
    check(app, "/")


def test_rotating_the_operator_token_ends_every_operator_session(
    app: Flask, make_settings: Callable[..., Settings], logs_config: LogsConfig
) -> None:
    rotated = create_app(make_settings("logs", api_token=DEPLOYED_API_TOKEN), logs_config)
    try:
        check_a_rotated_token_ends_the_sessions(app, rotated, "/")
    finally:
        app_database(rotated).dispose()


def test_the_page_tail_refuses_bad_filters_with_json(operator: FlaskClient) -> None:
    response = operator.get("/tail", query_string={"level": "LOUD"})
    assert response.status_code == 422
    assert "level" in response.get_json()["error"]["fields"]


@pytest.fixture
def postgres_operator(
    make_settings: Callable[..., Settings], logs_config: LogsConfig
) -> Iterator[tuple[FlaskClient, Database]]:
    """A signed-in client of the app on a fresh PostgreSQL database."""
    with temporary_postgres_database() as url:
        app = create_app(make_settings("logs", logs_database_url=url), logs_config)
        client = app.test_client()
        sign_in_operator(client)
        yield client, app_database(app)
        app_database(app).dispose()


def test_search_histogram_and_request_pages_on_postgres(
    postgres_operator: tuple[FlaskClient, Database], make_record: RecordFactory
) -> None:
    client, database = postgres_operator
    with database.session() as session:
        store_records(
            session,
            [
                make_record(time=_at(0), message="disk almost full", request_id="pg-1"),
                make_record(time=_at(90), message="disk full", service="worker", level="ERROR"),
                make_record(time=_at(200), message="other", request_id="pg-1", service="errors"),
            ],
        )
    html = page(client, q="disk")
    assert shown_messages(html) == ["disk full", "disk almost full"]
    counts = [int(count) for count in re.findall(r'data-count="(\d+)"', html)]
    assert sum(counts) == 2 and len(counts) > 1
    assert shown_messages(page(client, "/requests/pg-1")) == ["disk almost full", "other"]


def test_an_operator_searches_expands_follows_a_request_and_tails_in_a_browser(
    browser: Any,
    screenshot: Callable[[str], Any],
    http_port: int,
    store: Store,
    make_record: RecordFactory,
) -> None:
    from selenium.webdriver.common.by import By

    base = f"http://127.0.0.1:{http_port}"
    store(
        [
            make_record(time=_at(1), message="checkout started", service="web", request_id="rq-7"),
            make_record(
                time=_at(2),
                message="charge card",
                service="worker",
                request_id="rq-7",
                fields={"order": {"id": 42}, "amount": "9.90"},
            ),
            make_record(time=_at(3), message="card declined", service="errors", request_id="rq-7"),
            make_record(
                time=_at(4), message="batch of 3 stored", service="logs", request_id="rq-7"
            ),
            make_record(time=_at(5), message="unrelated line", service="web"),
        ]
    )
    browser.delete_all_cookies()  # the browser is shared: start signed out

    browser.get(f"{base}/?q=charge")
    assert "/login" in browser.current_url
    browser.find_element(By.NAME, "token").send_keys(DEFAULT_API_TOKEN)
    screenshot("logs-sign-in")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # Sign-in brings the operator back to the search asked for, with its one result.
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#results details.record"))
    results = browser.find_elements(By.CSS_SELECTOR, "#results details.record")
    assert [r.find_element(By.CLASS_NAME, "message").text for r in results] == ["charge card"]
    assert browser.find_elements(By.CSS_SELECTOR, "#histogram rect")
    screenshot("logs-search")

    # Its structured fields show once it is opened.
    record = results[0]
    assert not record.find_element(By.CSS_SELECTOR, "table.fields").is_displayed()
    record.find_element(By.TAG_NAME, "summary").click()
    fields = record.find_element(By.CSS_SELECTOR, "table.fields")
    assert fields.is_displayed()
    assert 'order {"id":42}' in fields.text and "amount 9.90" in fields.text
    screenshot("logs-record-expanded")

    # Its request id leads to the request's lines from all four services, oldest first.
    record.find_element(By.CSS_SELECTOR, "a.request-id").click()
    wait_until(lambda: browser.find_elements(By.ID, "request-services"))
    assert browser.find_element(By.ID, "request-services").text == "errors, logs, web, worker"
    assert [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#results .message")] == [
        "checkout started",
        "charge card",
        "card declined",
        "batch of 3 stored",
    ]
    assert "request_id=rq-7" in browser.find_element(By.ID, "errors-link").get_attribute("href")
    screenshot("logs-request")

    # Live tail, filtered like the page: a new matching line appears, as text, not markup.
    browser.get(f"{base}/?service=worker")
    browser.find_element(By.ID, "live-toggle").click()
    wait_until(lambda: browser.find_element(By.ID, "live-status").text == "live")
    hostile = 'paid <img src=x onerror="document.title=1">'
    store(
        [
            make_record(time=_at(10), message="not for this page", service="web"),
            make_record(time=_at(11), message=hostile, service="worker", request_id="rq-8"),
        ]
    )
    live = wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#live-lines details.record"),
        message="a live line on the page",
    )
    assert [line.find_element(By.CLASS_NAME, "message").text for line in live] == [hostile]
    assert browser.execute_script("return document.querySelectorAll('#live-lines img').length") == 0
    live[0].find_element(By.TAG_NAME, "summary").click()
    assert "rq-8" in live[0].find_element(By.CSS_SELECTOR, "table.fields").text
    screenshot("logs-live-tail")
    browser.find_element(By.ID, "live-toggle").click()  # closes the stream before the server stops
    assert browser.find_element(By.ID, "live-status").text == "off"
