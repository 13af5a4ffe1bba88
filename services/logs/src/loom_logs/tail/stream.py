"""Live tail's stream: new log records as Server-Sent Events, with the search filters.

Each event is ``event: log`` with the record (as in search) as data and its id as the event
id. A comment goes out every ``tail_heartbeat`` seconds so that proxies keep an idle stream
open (and a gone client is noticed). A client too slow for its queue gets ``event: dropped``
with how many lines it lost. Every stream holds one worker thread: the service runs gunicorn's
gthread workers with many threads (see service.toml).
"""

from __future__ import annotations

import queue
from collections.abc import Iterator

from flask import Flask, current_app
from werkzeug.wrappers import Response as StreamingResponse

from loom_common.db import Database
from loom_common.flask_app import current_config
from loom_logs.config import LogsConfig
from loom_logs.schemas import LogFilterQuery
from loom_logs.search.serialisers import log_filter
from loom_logs.tail.filter import TailFilter
from loom_logs.tail.hub import TailHub

_HUB_KEY = "loom_logs_tail_hub"
MAX_EVENTS_PER_WRITE = 200


def init_app(app: Flask, database: Database, config: LogsConfig) -> None:
    """Live tail for ``app``: the hub (one poller thread) every stream of this process reads."""
    app.extensions[_HUB_KEY] = TailHub(
        database, interval=config.tail_poll_interval, queue_size=config.tail_queue_size
    )


def _events(hub: TailHub, wanted: TailFilter, heartbeat: float) -> Iterator[bytes]:
    # Subscribed only once the server starts sending: a generator closed before it ever ran
    # would skip its finally, and leave a subscription behind.
    subscription = hub.subscribe(wanted)
    try:
        yield b"retry: 2000\n: connected\n\n"
        reported_drops = 0
        while True:
            try:
                events = [subscription.events.get(timeout=heartbeat)]
            except queue.Empty:
                yield b": heartbeat\n\n"
                continue
            while len(events) < MAX_EVENTS_PER_WRITE:
                try:
                    events.append(subscription.events.get_nowait())
                except queue.Empty:
                    break
            if subscription.dropped != reported_drops:
                lost = subscription.dropped - reported_drops
                reported_drops = subscription.dropped
                events.append(b"event: dropped\ndata: %d\n\n" % lost)
            yield b"".join(events)
    finally:
        hub.unsubscribe(subscription)


def tail_stream(query: LogFilterQuery) -> StreamingResponse:
    """The live-tail response for ``query``: the API's ``GET /api/tail``, and the operator
    pages' behind sign-in."""
    config = current_config(LogsConfig)
    hub: TailHub = current_app.extensions[_HUB_KEY]
    # werkzeug's Response, not Flask's: spectree reads a Flask response's whole body to
    # validate it, which a stream never ends.
    return StreamingResponse(
        _events(hub, TailFilter(log_filter(query)), config.tail_heartbeat),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
