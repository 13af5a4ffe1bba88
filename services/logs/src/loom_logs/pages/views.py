"""The operator pages: search (the home page), one request across services, and the page's
live tail (the API's stream behind the sign-in session, so no token is ever put in a page)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from loom_common.api_errors import error_response, note_refusal
from loom_common.cursors import InvalidCursor
from loom_common.flask_app import current_database
from loom_common.operator_ui import init_operator_ui, page
from loom_common.page_query import BadFilters, query_string
from loom_common.settings import Settings
from loom_logs.metrics import PAGE_QUERIES_REFUSED
from loom_logs.pages import formatting
from loom_logs.pages.chart import Bar, histogram_chart
from loom_logs.pages.errors_lookup import issues_for_request
from loom_logs.pages.search_form import RECENT_SPANS, filter_pairs, read_search_query
from loom_logs.search.query import LogFilter, after_position, page_cursor, search_records
from loom_logs.search.serialisers import log_filter, log_item
from loom_logs.store.levels import LEVEL_NUMBERS
from loom_logs.tail.stream import tail_stream

pages = Blueprint("pages", __name__)
REQUEST_LINES_SHOWN = 1000


def init_app(app: Flask, settings: Settings) -> None:
    """The pages' sign-in and formatting (``init_app(..., sessions=True)`` must come first);
    ``create_app`` registers the ``pages`` blueprint itself."""
    app.config["LOOM_LOGS_ERRORS_URL"] = settings.service_url("errors")
    app.config["LOOM_LOGS_ERRORS_TOKEN"] = settings.api_token.get_secret_value()
    # Live tail's page script is the service's own (static/), so scripts from 'self' run.
    init_operator_ui(app, settings, title="Logs", home_endpoint="pages.search", own_scripts=True)
    formatting.init_app(app)


def _refused(reason: str, problems: dict[str, str], status: int) -> tuple[str, int]:
    PAGE_QUERIES_REFUSED.labels(reason=reason).inc()
    note_refusal(reason)
    html = render_template("logs/search.html", problems=problems, **_form_values())
    return html, status


def _form_values() -> dict[str, object]:
    args = request.args
    return {
        "args": args,
        "levels": list(LEVEL_NUMBERS),
        "recent_spans": list(RECENT_SPANS),
        "field_filters": [value for value in args.getlist("field") if value.strip()],
    }


@pages.get("/")
@page
def search() -> str | tuple[str, int]:
    """Search with the API's filters, a histogram of them, newest first, a page at a time."""
    try:
        query = read_search_query(request.args, now=datetime.now(UTC))
    except BadFilters as bad:
        return _refused("invalid_filters", bad.problems, 422)
    try:
        after = after_position(query.cursor)
    except InvalidCursor as error:
        return _refused("invalid_cursor", {"cursor": str(error)}, 400)
    wanted = log_filter(query)
    with current_database().session() as session:
        found = search_records(session, wanted, limit=query.limit, after=after)
        items = [log_item(record) for record in found.records]
        chart = histogram_chart(session, wanted)
    same_search = filter_pairs(request.args)
    if "limit" in request.args:
        same_search.append(("limit", str(query.limit)))
    older = None
    if found.next_position is not None:
        older = "?" + query_string(same_search, cursor=page_cursor(found.next_position))
    return render_template(
        "logs/search.html",
        items=items,
        chart=chart,
        older_url=older,
        newest_url="?" + query_string(same_search),
        paged=after is not None,
        bar_urls=[_zoom_url(bar) for bar in chart.bars] if chart else [],
        tail_url=url_for("pages.live_tail") + "?" + query_string(filter_pairs(request.args)),
        **_form_values(),
    )


def _zoom_url(bar: Bar) -> str:
    """The same search narrowed to one bar's interval."""
    pairs = filter_pairs(request.args)
    return "?" + query_string(
        pairs, since=bar.start.isoformat(), until=bar.end.isoformat(), last=""
    )


@pages.get("/requests/<path:request_id>")
@page
def request_lines(request_id: str) -> str:
    """Every line of one request, from every service, oldest first."""
    with current_database().session() as session:
        found = search_records(session, LogFilter(request_id=request_id), limit=REQUEST_LINES_SHOWN)
        items = [log_item(record) for record in reversed(found.records)]
    errors_url = current_app.config["LOOM_LOGS_ERRORS_URL"]
    issues = issues_for_request(
        errors_url, current_app.config["LOOM_LOGS_ERRORS_TOKEN"], request_id
    )
    return render_template(
        "logs/request.html",
        request_id=request_id,
        items=items,
        services=sorted({item.service or "(none)" for item in items}),
        truncated=found.next_position is not None,
        issues=issues,
        errors_url=f"{errors_url}/?{query_string([], request_id=request_id)}",
        search_url=url_for("pages.search") + "?" + query_string([], request_id=request_id),
    )


@pages.get("/tail")
@page
def live_tail() -> BaseResponse:
    """``GET /api/tail`` for the signed-in page: the same filters and events."""
    try:
        query = read_search_query(request.args, now=datetime.now(UTC))
    except BadFilters as bad:
        PAGE_QUERIES_REFUSED.labels(reason="invalid_filters").inc()
        return error_response(422, f"invalid filters: {bad}", fields=bad.problems)
    return tail_stream(query)
