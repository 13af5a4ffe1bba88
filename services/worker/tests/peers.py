"""Test peers: a stand-in for web's API (a real HTTP server in a thread). The SMTP sink is
loom_common.mail.sink.SmtpSink."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from loom_common.settings import DEFAULT_API_TOKEN


@dataclass
class FakeWeb:
    """Serves the JSON shapes the worker reads from web; tests set what it holds."""

    tasks: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    digest: list[dict[str, Any]] = field(default_factory=list)
    cleanup_calls: int = 0
    digest_queries: list[str] = field(default_factory=list)
    # While set, a task page after the first waits until it is cleared (a long job).
    hold_pages: threading.Event = field(default_factory=threading.Event)
    pages_served: int = 0
    # Seconds each task page after the first takes (a slow job without holding it forever).
    page_delay: float = 0.0
    unauthorised: int = 0

    def reset(self) -> None:
        self.tasks.clear()
        self.digest.clear()
        self.digest_queries.clear()
        self.cleanup_calls = self.pages_served = self.unauthorised = 0
        self.page_delay = 0.0
        self.hold_pages.clear()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {DEFAULT_API_TOKEN}":
            self.unauthorised += 1
            return Response('{"error": {"code": "unauthorized"}}', 401)
        parts = request.path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "projects"] and parts[4:] == ["tasks"]:
            return self.task_page(int(parts[3]), request)
        if request.path == "/api/v1/digest":
            self.digest_queries.append(request.args.get("due_before", ""))
            return Response(_json({"items": self.digest}), mimetype="application/json")
        if request.path == "/api/v1/maintenance/cleanup" and request.method == "POST":
            self.cleanup_calls += 1
            return Response(_json({"sessions_removed": 3}), mimetype="application/json")
        return Response('{"error": {"code": "not_found"}}', 404)

    def task_page(self, project_id: int, request: Request) -> Response:
        if project_id not in self.tasks:
            return Response('{"error": {"code": "not_found"}}', 404)
        start = int(request.args.get("cursor") or 0)
        limit = int(request.args.get("limit", 50))
        if start > 0:
            threading.Event().wait(self.page_delay)
            while self.hold_pages.is_set():
                threading.Event().wait(0.05)
        items = self.tasks[project_id][start : start + limit]
        more = start + limit < len(self.tasks[project_id])
        self.pages_served += 1
        body = {"items": items, "next_cursor": str(start + limit) if more else None}
        return Response(_json(body), mimetype="application/json")


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


class WebPeer:
    def __init__(self, port: int) -> None:
        self.state = FakeWeb()
        self.server: BaseWSGIServer = make_server("127.0.0.1", port, self.state, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
