"""The operator pages: sign-in, the issue list (filters, sorts, paging, sparklines), one issue
(stack trace, chain, request, tags, breadcrumbs, user, the logs link, event paging, status
buttons behind CSRF), the projects page, escaping of whatever an event carries, and the
whole path in a real browser against a real server fed by the real sentry-sdk."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import dramatiq
import orjson
import pytest
import sentry_sdk
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from werkzeug.serving import make_server

from loom_common.flask_app import app_database, app_settings
from loom_common.settings import DEFAULT_API_TOKEN, Settings
from loom_common.testing import (
    DEPLOYED_API_TOKEN,
    OPERATOR_SESSION_CHECKS,
    check_a_rotated_token_ends_the_sessions,
    csrf_token,
    free_port,
    sign_in_operator,
    wait_until,
)
from loom_errors.alerts.emails import issue_link
from loom_errors.app import create_app
from loom_errors.models import Issue, Project
from loom_errors.pages import issues as issue_pages
from loom_errors.projects.service import create_key, create_project, dsn
from loom_errors.store.events import store_event

NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def _pages_see_the_tests_now(monkeypatch: pytest.MonkeyPatch) -> None:
    # The events are made at NOW, when the module is imported; a page rendered after the hour
    # turned would put them in the sparkline's previous hour. The pages' clock is pinned to NOW.
    monkeypatch.setattr(issue_pages, "utcnow", lambda: NOW)


def _without_csrf_tokens(html: str) -> str:
    # A CSRF token carries the second it was made in: two renders may differ there only.
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', html)


ATTACK = "<script>alert(1)</script>"


def refused(reason: str) -> float:
    labels = {"reason": reason}
    return REGISTRY.get_sample_value("loom_errors_page_requests_refused_total", labels) or 0.0


def page(client: FlaskClient, path: str = "/", **params: Any) -> str:
    response = client.get(path, query_string=params or None)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def listed_titles(html: str) -> list[str]:
    """The issue titles of the list, top to bottom, as the reader sees them."""
    return [
        unescape(title) for title in re.findall(r'<a class="title" href="[^"]+">(.*?)</a>', html)
    ]


def message_event(text: str, at: datetime, **fields: Any) -> dict[str, Any]:
    """A message event at ``at``; each distinct text is its own issue."""
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": at.isoformat(),
        "level": fields.pop("level", "error"),
        "message": text,
        "environment": fields.pop("environment", "production"),
        "release": fields.pop("release", "2.0.0"),
        "tags": {"service": "web", **fields.pop("tags", {})},
        **fields,
    }


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Iterator[Flask]:
    app = create_app(make_settings("errors", ship_logs=False, capture_errors=False))
    yield app
    app_database(app).dispose()


@pytest.fixture
def operator(app: Flask) -> FlaskClient:
    """A test client signed in as the operator."""
    client = app.test_client()
    sign_in_operator(client)
    return client


@pytest.fixture
def seed(app: Flask) -> Callable[..., Issue]:
    """``seed(event, received_at=...)``: store one event straight into the app's database."""

    def store(event: dict[str, Any], received_at: datetime = NOW) -> Issue:
        with app_database(app).session() as session:
            return store_event(session, event, received_at=received_at)

    return store


def boom(order: str) -> None:
    try:
        parse_amount(order)
    except ValueError as error:
        raise RuntimeError(f"order {order} could not be charged") from error


def parse_amount(order: str) -> int:
    amount = order.split(":")[-1]
    return int(amount)  # the line the trace points at


def chained_event(sentry_events: Any, order: str = "o-1:ten") -> dict[str, Any]:
    """A real sentry-sdk event of a RuntimeError raised from a ValueError, as a Flask app with
    Loom's error capture would send it (request, user, breadcrumb, request id tag)."""
    try:
        boom(order)
    except RuntimeError as error:
        event = sentry_events.exception(error, tags={"request_id": "req-7"})
    event["request"] = {
        "method": "POST",
        "url": "http://shop.example/api/charge",
        "query_string": "retry=1",
        "headers": {"Authorization": "Bearer s3cret-token", "User-Agent": "curl/8"},
    }
    event["user"] = {"id": "u-42", "email": "ada@example.com"}
    event["breadcrumbs"] = {
        "values": [
            {
                "timestamp": NOW.isoformat(),
                "category": "sql",
                "message": "SELECT 1",
                "level": "info",
            }
        ]
    }
    return event


@pytest.mark.parametrize("path", ["/", "/?request_id=abc", "/issues/1", "/projects"])
def test_every_page_sends_a_stranger_to_sign_in(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("check", OPERATOR_SESSION_CHECKS)
def test_operator_sessions_end_and_wrong_tokens_are_limited(
    app: Flask, check: Callable[[Flask, str], None]
) -> None:
    check(app, "/")


def test_rotating_the_operator_token_ends_every_operator_session(
    app: Flask, make_settings: Callable[..., Settings]
) -> None:
    rotated = create_app(
        make_settings("errors", ship_logs=False, capture_errors=False, api_token=DEPLOYED_API_TOKEN)
    )
    try:
        check_a_rotated_token_ends_the_sessions(app, rotated, "/")
    finally:
        app_database(rotated).dispose()


def test_a_stranger_cannot_change_a_status(
    app: Flask, seed: Callable[..., Issue], operator: FlaskClient
) -> None:
    issue = seed(message_event("disk full", NOW))
    token = csrf_token(page(operator, f"/issues/{issue.id}"))
    stranger = app.test_client()

    response = stranger.post(f"/issues/{issue.id}/status", data={"status": "resolved"})
    assert response.status_code == 400  # no CSRF token: refused before anything else
    # Even a valid-looking token does not stand in for a session.
    response = stranger.post(
        f"/issues/{issue.id}/status", data={"status": "resolved", "csrf_token": token}
    )
    assert response.status_code == 400  # the token belongs to the operator's session
    assert "unresolved" in page(operator, f"/issues/{issue.id}").split('id="issue-status"')[1][:60]


def test_the_list_shows_each_issue_with_counts_status_and_a_24_hour_sparkline(
    operator: FlaskClient, seed: Callable[..., Issue], sentry_events: Any
) -> None:
    for hours_ago, user in ((0, "u-1"), (0, "u-2"), (3, "u-1"), (50, "u-3")):
        event = chained_event(sentry_events)
        event["user"] = {"id": user}
        event["timestamp"] = (NOW - timedelta(hours=hours_ago)).isoformat()
        issue = seed(event)
    html = page(operator)

    assert listed_titles(html) == ["RuntimeError: order o-1:ten could not be charged"]
    row = html.split(f'data-issue-id="{issue.id}"', 1)[1].split("</tr>", 1)[0]
    assert f'<div class="culprit">{__name__}.boom</div>' in row
    assert '<td class="number events">4</td>' in row
    assert '<td class="number users">3</td>' in row
    assert "badge status unresolved" in row
    bars = [int(count) for count in re.findall(r'data-count="(\d+)"', row)]
    # 24 hours, the current one last; the event of two days ago is not in them.
    assert len(bars) == 24 and bars[-1] == 2 and bars[-4] == 1 and sum(bars) == 3
    assert 'data-total="3"' in row


def test_the_list_filters_sorts_and_pages_like_the_api(
    operator: FlaskClient, seed: Callable[..., Issue], app: Flask
) -> None:
    seed(message_event("payment declined", NOW - timedelta(hours=5), environment="staging"))
    for minutes in (1, 2, 3):
        seed(message_event("cache miss storm", NOW - timedelta(hours=4, minutes=minutes)))
    seed(message_event("slow query", NOW - timedelta(hours=3), level="warning"))
    ignored = seed(message_event("noisy payment bot", NOW - timedelta(hours=2)))
    with app_database(app).session() as session:
        session.get_one(Issue, ignored.id).status = "ignored"

    assert listed_titles(page(operator)) == [
        "noisy payment bot",
        "slow query",
        "cache miss storm",
        "payment declined",
    ]
    # Blank inputs, as the form sends them, are no filter at all.
    blank = {name: "" for name in ("q", "status", "project", "level", "environment", "release")}
    assert len(listed_titles(page(operator, **blank))) == 4
    assert listed_titles(page(operator, q="PAYMENT", status="unresolved")) == ["payment declined"]
    assert listed_titles(page(operator, environment="staging")) == ["payment declined"]
    assert listed_titles(page(operator, level="warning", project="1")) == ["slow query"]
    assert listed_titles(page(operator, sort="count"))[0] == "cache miss storm"
    assert listed_titles(page(operator, sort="first_seen"))[-1] == "payment declined"
    assert "4 issues" in page(operator)

    # Two a page, following the "next page" links, keeping the filter: every issue once.
    seen: list[str] = []
    html = page(operator, status="unresolved", limit="2")
    while True:
        seen.extend(listed_titles(html))
        following = re.search(r'id="next-page" href="([^"]+)"', html)
        if following is None:
            break
        html = page(operator, "/" + unescape(following.group(1)))
    assert seen == ["slow query", "cache miss storm", "payment declined"]
    assert 'id="first-page"' in html


def test_bad_filters_are_named_on_the_page_and_counted(operator: FlaskClient) -> None:
    before = refused("invalid_filters")
    response = operator.get("/", query_string={"level": "LOUD", "project": "x", "q": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<code>level</code>" in html and "<code>project</code>" in html
    assert refused("invalid_filters") == before + 1

    before = refused("invalid_cursor")
    response = operator.get("/", query_string={"cursor": "garbage"})
    assert response.status_code == 400
    assert "invalid cursor" in response.get_data(as_text=True)
    assert refused("invalid_cursor") == before + 1


def test_an_issue_page_shows_the_trace_chain_request_tags_breadcrumbs_and_user(
    operator: FlaskClient,
    seed: Callable[..., Issue],
    sentry_events: Any,
    settings: Settings,
) -> None:
    issue = seed(chained_event(sentry_events))
    html = page(operator, f"/issues/{issue.id}")

    # The raised exception first, then its cause, linked as Python says it.
    types = re.findall(r'<span class="exception-type">(.*?)</span>', html)
    assert types == ["RuntimeError", "ValueError"]
    assert "which led to the exception above" in html
    cause = html.split('<span class="exception-type">ValueError</span>', 1)[1]
    # Its in-app frames open, most recent call first, with the line that raised marked.
    assert cause.count('<details class="frame in-app" open>') == 2
    assert re.findall(r'<code class="function">(.*?)</code>', cause) == ["parse_amount", "boom"]
    current = re.search(
        r'<span class="line current"><span class="lineno">\d+</span>(.*?)</span>', cause
    )
    assert current is not None
    assert unescape(current.group(1)) == "    return int(amount)  # the line the trace points at"
    # The request as stored: its secret header scrubbed.
    assert "POST http://shop.example/api/charge?retry=1" in html
    assert "s3cret-token" not in html and "[Filtered]" in html
    assert "<th>request_id</th><td>req-7</td>" in html
    assert "ada@example.com" in html
    assert "SELECT 1" in html
    # The request id leads to the logs service's search for it.
    logs_link = re.search(r'id="logs-link" href="([^"]+)"', html)
    assert logs_link is not None
    assert unescape(logs_link.group(1)) == f"{settings.service_url('logs')}/?request_id=req-7"
    # The logs service links back to the list of this request's issues.
    assert listed_titles(page(operator, request_id="req-7")) == [issue.title]
    assert listed_titles(page(operator, request_id="req-8")) == []
    # The link in alert emails opens this page.
    alert_link = issue_link(settings.service_url("errors"), issue)
    assert _without_csrf_tokens(page(operator, urlsplit(alert_link).path)) == _without_csrf_tokens(
        html
    )


def test_library_frames_are_collapsed(operator: FlaskClient, seed: Callable[..., Issue]) -> None:
    frames = [
        {"function": "dispatch", "module": "flask.app", "lineno": 10, "in_app": False,
         "context_line": "return view()"},
        {"function": "checkout", "module": "shop.views", "lineno": 20, "in_app": True,
         "context_line": "charge(order)"},
        {"function": "request", "module": "requests.api", "lineno": 30, "in_app": False,
         "context_line": "raise ConnectionError"},
    ]  # fmt: skip
    event = message_event("", NOW)
    event["exception"] = {"values": [{"type": "ConnectionError", "stacktrace": {"frames": frames}}]}
    html = page(operator, f"/issues/{seed(event).id}")

    app_part, library_part = html.split('<details class="library-frames">', 1)
    assert re.findall(r'<code class="function">(.*?)</code>', app_part) == ["checkout"]
    assert "<summary>2 library frames</summary>" in library_part
    library = re.findall(
        r'<details class="frame library">\s*<summary><code class="function">(.*?)<', library_part
    )
    assert library == ["request", "dispatch"]  # most recent call first


def test_events_of_an_issue_page_from_the_latest_to_the_oldest(
    operator: FlaskClient, seed: Callable[..., Issue]
) -> None:
    events = [message_event("flaky job", NOW - timedelta(minutes=m)) for m in (30, 20, 10)]
    for event in events:
        issue = seed(event)
    html = page(operator, f"/issues/{issue.id}")
    assert "3 stored events" in html
    shown = []
    while True:
        shown.extend(re.findall(r'<code id="event-id">(\w+)</code>', html))
        older = re.search(r'id="older-event" href="([^"]+)"', html)
        if older is None:
            break
        html = page(operator, unescape(older.group(1)))
        assert 'id="latest-event"' in html
    assert shown == [event["event_id"] for event in reversed(events)]

    before = refused("invalid_cursor")
    assert operator.get(f"/issues/{issue.id}?event=garbage").status_code == 400
    assert refused("invalid_cursor") == before + 1


def test_status_buttons_need_the_csrf_token_and_change_the_status(
    operator: FlaskClient, seed: Callable[..., Issue]
) -> None:
    issue = seed(message_event("disk full", NOW))
    url = f"/issues/{issue.id}"
    html = page(operator, url)
    buttons = re.findall(r'<button type="submit" id="action-(\w+)"', html)
    assert sorted(buttons) == ["ignored", "resolved", "resolved_in_next_release"]
    token = csrf_token(html)

    before = refused("csrf")
    response = operator.post(f"{url}/status", data={"status": "resolved"})
    assert response.status_code == 400
    assert "CSRF token is missing" in response.get_data(as_text=True)
    assert refused("csrf") == before + 1
    assert 'id="issue-status">unresolved<' in page(operator, url)

    response = operator.post(f"{url}/status", data={"status": "resolved", "csrf_token": token})
    assert (response.status_code, response.headers["Location"]) == (303, url)
    html = page(operator, url)
    assert 'id="issue-status">resolved<' in html
    assert "Issue marked resolved." in html
    assert 'id="action-unresolved"' in html  # Reopen

    operator.post(f"{url}/status", data={"status": "unresolved", "csrf_token": token})
    assert 'id="issue-status">unresolved<' in page(operator, url)

    before = refused("invalid_status")
    response = operator.post(f"{url}/status", data={"status": "deleted", "csrf_token": token})
    assert response.status_code == 422
    assert "status: &#39;deleted&#39; is not one of" in response.get_data(as_text=True)
    assert refused("invalid_status") == before + 1
    assert (
        operator.post(
            "/issues/999/status", data={"status": "resolved", "csrf_token": token}
        ).status_code
        == 404
    )
    assert operator.get("/issues/999").status_code == 404


def test_what_an_event_carries_is_escaped_everywhere_it_is_shown(
    operator: FlaskClient, seed: Callable[..., Issue]
) -> None:
    event = message_event("", NOW, environment=f"prod{ATTACK}", tags={"note": ATTACK})
    event["exception"] = {
        "values": [
            {
                "type": f"Bad{ATTACK}",
                "value": ATTACK,
                "stacktrace": {
                    "frames": [
                        {"function": ATTACK, "module": ATTACK, "in_app": True,
                         "context_line": ATTACK, "vars": {ATTACK: ATTACK}}
                    ]
                },
            }
        ]
    }  # fmt: skip
    event["request"] = {"method": "GET", "url": f"http://x/{ATTACK}", "headers": {ATTACK: ATTACK}}
    event["user"] = {"username": ATTACK}
    event["breadcrumbs"] = [{"message": ATTACK, "category": ATTACK, "data": {"x": ATTACK}}]
    event["tags"]["request_id"] = f"r{ATTACK}"
    issue = seed(event)

    pages = [page(operator), page(operator, f"/issues/{issue.id}"), page(operator, q="<script>")]
    for html in pages:
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert listed_titles(pages[0]) == [f"Bad{ATTACK}: {ATTACK}"]
    logs_link = re.search(r'id="logs-link" href="([^"]+)"', pages[1])
    assert logs_link is not None and "<" not in logs_link.group(1)
    assert "script-src 'none'" in operator.get("/").headers["Content-Security-Policy"]


def test_the_projects_page_makes_projects_and_keys_revokes_keys_and_sets_alerts(
    operator: FlaskClient, app: Flask
) -> None:
    html = page(operator, "/projects")
    assert 'data-project-name="loom"' in html
    token = csrf_token(html)

    response = operator.post("/projects", data={"name": "shop", "csrf_token": token})
    assert response.status_code == 303
    with app_database(app).session() as session:
        shop = session.query(Project).filter_by(name="shop").one()
        project_id = shop.id
    html = page(operator, "/projects")
    section = html.split(f'id="project-{project_id}"', 1)[1].split("</section>", 1)[0]
    (shop_dsn,) = re.findall(r'<code class="dsn">([^<]+)</code>', section)
    assert shop_dsn.startswith("http://") and shop_dsn.endswith(f"/{project_id}")

    before = refused("invalid_project")
    response = operator.post("/projects", data={"name": "  ", "csrf_token": token})
    assert response.status_code == 422 and "<code>name</code>" in response.get_data(as_text=True)
    assert refused("invalid_project") == before + 1
    response = operator.post("/projects", data={"name": "shop", "csrf_token": token})
    assert response.status_code == 409
    assert "a project named &#39;shop&#39; exists already" in response.get_data(as_text=True)

    operator.post(f"/projects/{project_id}/keys", data={"csrf_token": token})
    public_key = shop_dsn.split("//", 1)[1].split("@", 1)[0]
    response = operator.post(f"/keys/{public_key}/revoke", data={"csrf_token": token})
    assert response.status_code == 303
    section = page(operator, "/projects").split(f'id="project-{project_id}"', 1)[1]
    section = section.split("</section>", 1)[0]
    assert len(re.findall(r'<tr class="key active">', section)) == 1
    assert len(re.findall(r'<tr class="key revoked">', section)) == 1
    assert operator.post("/keys/nope/revoke", data={"csrf_token": token}).status_code == 404

    response = operator.post(
        f"/projects/{project_id}/alerts",
        data={
            "recipients": "ops@example.com,\nlead@example.com",
            "event_threshold": "100",
            "threshold_minutes": "5",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    with app_database(app).session() as session:
        saved = session.get_one(Project, project_id)
        assert orjson.loads(saved.alert_recipients) == ["lead@example.com", "ops@example.com"]
        assert (saved.alert_event_threshold, saved.alert_threshold_minutes) == (100, 5)

    before = refused("invalid_alerts")
    response = operator.post(
        f"/projects/{project_id}/alerts",
        data={"recipients": "ops@example.com not-an-address", "csrf_token": token},
    )
    assert response.status_code == 422
    assert "&#39;not-an-address&#39; is not an email address" in response.get_data(as_text=True)
    response = operator.post(
        f"/projects/{project_id}/alerts",
        data={"recipients": "", "event_threshold": "3", "csrf_token": token},
    )
    assert response.status_code == 422 and "<code>threshold_minutes</code>" in response.get_data(
        as_text=True
    )
    assert refused("invalid_alerts") == before + 2


@pytest.fixture
def postgres_operator(
    make_settings: Callable[..., Settings], database_url: str
) -> Iterator[tuple[FlaskClient, Flask]]:
    app = create_app(
        make_settings(
            "errors", ship_logs=False, capture_errors=False, errors_database_url=database_url
        )
    )
    client = app.test_client()
    sign_in_operator(client)
    yield client, app
    app_database(app).dispose()


def test_list_sparkline_and_issue_page_on_both_databases(
    postgres_operator: tuple[FlaskClient, Flask], sentry_events: Any
) -> None:
    client, app = postgres_operator
    with app_database(app).session() as session:
        for hours_ago in (0, 1, 1, 30):
            event = chained_event(sentry_events)
            event["timestamp"] = (NOW - timedelta(hours=hours_ago)).isoformat()
            issue = store_event(session, event, received_at=NOW)
    row = page(client).split(f'data-issue-id="{issue.id}"', 1)[1].split("</tr>", 1)[0]
    bars = [int(count) for count in re.findall(r'data-count="(\d+)"', row)]
    assert bars[-2:] == [2, 1] and sum(bars) == 3
    html = page(client, f"/issues/{issue.id}")
    assert "4 stored events" in html and "return int(amount)" in html


@pytest.fixture
def served(settings: Settings, actors: ModuleType) -> Iterator[tuple[Flask, str]]:
    """The app behind a real HTTP server on a free port, its DSNs pointing at it."""
    port = free_port()
    app = create_app(settings.model_copy(update={"errors_url": f"http://127.0.0.1:{port}"}))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join()
    app_database(app).dispose()


def report(dsn_url: str, error: BaseException) -> None:
    """Send one exception with its own unmodified sentry-sdk client over HTTP."""
    client = sentry_sdk.Client(dsn=dsn_url, default_integrations=False, release="shop@3.1.0")
    with sentry_sdk.new_scope() as scope:
        scope.set_client(client)
        scope.set_tag("request_id", "rq-browser")
        sentry_sdk.capture_exception(error)
    client.flush(timeout=10)
    client.close(timeout=10)


def test_an_operator_signs_in_opens_an_issue_from_sentry_sdk_and_resolves_it(
    browser: Any,
    screenshot: Callable[[str], Any],
    served: tuple[Flask, str],
    worker: dramatiq.Worker,
) -> None:
    from selenium.webdriver.common.by import By

    app, base = served
    with app_database(app).session() as session:
        project = create_project(session, "shop")
        dsn_url = dsn(app_settings(app), create_key(session, project.id))
    try:
        boom("o-9:nine")
    except RuntimeError as error:
        report(dsn_url, error)

    browser.delete_all_cookies()  # the browser is shared: start signed out
    browser.get(f"{base}/?project={project.id}")
    assert "/login" in browser.current_url
    browser.find_element(By.NAME, "token").send_keys(DEFAULT_API_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # Back on the list asked for; the consumer stores the event behind the HTTP answer.
    def issue_rows() -> list[Any]:
        browser.refresh()
        return browser.find_elements(By.CSS_SELECTOR, "#issues tr.issue-row")

    (row,) = wait_until(issue_rows, message="the issue on the list")
    assert row.find_element(By.CLASS_NAME, "title").text == (
        "RuntimeError: order o-9:nine could not be charged"
    )
    assert row.find_element(By.CSS_SELECTOR, ".status").text == "unresolved"
    assert row.find_element(By.CSS_SELECTOR, "svg.sparkline").get_attribute("data-total") == "1"
    screenshot("errors-issue-list")

    row.find_element(By.CLASS_NAME, "title").click()
    wait_until(lambda: browser.find_elements(By.ID, "issue-title"))
    types = [e.text for e in browser.find_elements(By.CLASS_NAME, "exception-type")]
    assert types == ["RuntimeError", "ValueError"]
    frame = browser.find_element(By.CSS_SELECTOR, "details.frame.in-app")
    assert frame.find_element(By.CSS_SELECTOR, ".line.current").is_displayed()
    logs_link = browser.find_element(By.ID, "logs-link").get_attribute("href")
    assert logs_link.endswith("/?request_id=rq-browser")
    screenshot("errors-issue-detail")

    browser.find_element(By.ID, "action-resolved").click()
    wait_until(lambda: browser.find_element(By.ID, "issue-status").text == "resolved")
    assert "Issue marked resolved." in browser.find_element(By.CLASS_NAME, "flash").text
    browser.get(f"{base}/?status=resolved")
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#issues .title")] == [
        types[0] + ": order o-9:nine could not be charged"
    ]

    browser.find_element(By.LINK_TEXT, "Projects").click()
    section = browser.find_element(By.ID, f"project-{project.id}")
    assert section.find_element(By.CLASS_NAME, "dsn").text == dsn_url
    screenshot("errors-projects")
