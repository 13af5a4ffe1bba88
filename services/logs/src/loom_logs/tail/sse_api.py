"""``GET /api/tail``: new log records as Server-Sent Events, with the search filters (the stream
itself is in :mod:`loom_logs.tail.stream`, which the operator pages serve too)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response as StreamingResponse

from loom_logs.extensions import spec
from loom_logs.schemas import LogFilterQuery
from loom_logs.tail.stream import tail_stream

tail = Blueprint("tail", __name__, url_prefix="/api")


@tail.get("/tail")
@spec.validate(query=LogFilterQuery, tags=["logs"])
def live_tail(query: LogFilterQuery) -> StreamingResponse:
    """New records as they are stored (``text/event-stream``), filtered like search."""
    return tail_stream(query)
