"""The search filters fuzzed against the real SQLite FTS5 and PostgreSQL paths: every input is
a page of results or a 422 naming the bad field (a NUL, which no stored text holds), never a
500."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from flask.testing import FlaskClient

from loom_common.flask_app import app_database
from loom_common.settings import Settings
from loom_common.testing import temporary_postgres_database
from loom_logs.app import create_app
from loom_logs.config import LogsConfig
from loom_logs.store.insert import store_records

RecordFactory = Callable[..., dict[str, Any]]

# What breaks a query language: FTS5's operators, quotes, column filters and prefix stars,
# LIKE's wildcards, PostgreSQL's escapes, control characters and text from other scripts.
FRAGMENTS = [
    '"', '""', "'", "*", "(", ")", "{", "}", ":", "^", "-", "+", ",", ".", "%", "_", "\\",
    "NEAR(", "NEAR", "AND", "OR", "NOT", "message:", "fields:", "col:x*", "a*", "*a", "^a",
    "\t", "\n", "\r", "\x01", "\x7f", "\u2028", "\ufeff", "é", "日本", "🙂", "disk", "full",
    "\x00", "\\x00", "%%", "$1", ";", "--", "/*", "NULL",
]  # fmt: skip


def _queries(seed: int, count: int) -> Iterator[str]:
    chooser = random.Random(seed)
    for _ in range(count):
        parts = chooser.choices(FRAGMENTS, k=chooser.randint(1, 6))
        yield chooser.choice(["", " "]).join(parts)


@pytest.fixture(params=["sqlite", "postgresql"])
def searcher(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    logs_config: LogsConfig,
    make_record: RecordFactory,
) -> Iterator[FlaskClient]:
    """A client of the app on SQLite or on a fresh PostgreSQL database, with a few records."""
    with temporary_postgres_database() if request.param == "postgresql" else nullcontext() as url:
        overrides = {"logs_database_url": url} if url else {}
        app = create_app(make_settings("logs", **overrides), logs_config)
        with app_database(app).session() as session:
            store_records(
                session,
                [make_record(message="disk full"), make_record(message='say "NEAR(x" ok')],
            )
        yield app.test_client()
        app_database(app).dispose()


def test_fuzzed_q_is_always_a_page_of_results(searcher: FlaskClient, auth: dict[str, str]) -> None:
    for query in _queries(seed=12, count=400):
        response = searcher.get("/api/logs", query_string={"q": query}, headers=auth)
        if "\x00" in query:
            assert response.status_code == 422, (query, response.get_json())
            assert "NUL" in response.get_json()["error"]["fields"]["q"]
        else:
            assert response.status_code == 200, (query, response.get_json())


def test_quoted_fts5_syntax_is_found_as_text(searcher: FlaskClient, auth: dict[str, str]) -> None:
    response = searcher.get("/api/logs", query_string={"q": '"NEAR(x"'}, headers=auth)
    assert [item["message"] for item in response.get_json()["items"]] == ['say "NEAR(x" ok']


@pytest.mark.parametrize(
    ("name", "value"),
    [("q", "disk\x00full"), ("q", "\x00"), ("request_id", "r\x00"), ("service", "web\x00"),
     ("field", "order.id=\x007")],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/api/logs", "/api/logs/histogram"])
def test_a_nul_in_a_filter_is_a_422_naming_it(
    searcher: FlaskClient, auth: dict[str, str], path: str, name: str, value: str
) -> None:
    response = searcher.get(path, query_string={name: value}, headers=auth)
    assert response.status_code == 422
    assert "NUL" in response.get_json()["error"]["fields"][name]
