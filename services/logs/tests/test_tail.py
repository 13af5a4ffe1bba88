"""Live tail through real gunicorn, run as service.toml declares it: 50 clients at once get a
line published to the logs queue, per-client filters hold, and search is still answered."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
import requests
from flask.testing import FlaskClient

from loom_common.broker import send
from loom_common.contracts import LOGS_ACTOR, LOGS_QUEUE
from loom_common.manifest import REPO_ROOT, load_manifest
from loom_common.settings import Settings
from loom_common.testing import free_port, wait_until

RecordFactory = Callable[..., dict[str, Any]]
SERVICE_TOML = REPO_ROOT / "services" / "logs" / "service.toml"
BIN = Path(sys.executable).parent


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The logs HTTP process, started by the command in service.toml; yields its base URL."""
    port = free_port()
    command = load_manifest(SERVICE_TOML).processes
    http = next(process for process in command if process.kind == "http")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LOOM_SERVICE": "logs",
        "LOOM_ENV": "test",
        "LOOM_BROKER_URL": settings.broker_url,
        "LOOM_VAR_DIR": str(settings.var_dir),
        "LOOM_LOGS_PORT": str(port),
        "LOOM_HTTP_WORKERS": "1",
        "LOOM_LOGS_TAIL_HEARTBEAT": "0.5",  # closed clients are noticed quickly at shutdown
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        shlex.split(http.command), env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: requests.get(url + "/healthz", timeout=2).ok, timeout=30, message="gunicorn"
        )
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@dataclass
class TailClient:
    url: str
    headers: dict[str, str]
    wanted: int  # events to collect before hanging up
    connected: threading.Event = field(default_factory=threading.Event)
    events: list[dict[str, Any]] = field(default_factory=list)
    comments: int = 0
    error: BaseException | None = None

    def run(self) -> None:
        try:
            with requests.get(self.url, headers=self.headers, stream=True, timeout=30) as response:
                assert response.headers["Content-Type"].startswith("text/event-stream")
                buffer = b""
                for chunk in response.iter_content(chunk_size=None):
                    buffer += chunk
                    *blocks, buffer = buffer.split(b"\n\n")
                    for block in blocks:
                        self._read(block)
                    if len(self.events) >= self.wanted:
                        return
        except BaseException as error:
            self.error = error
            self.connected.set()

    def _read(self, block: bytes) -> None:
        lines = block.split(b"\n")
        if any(line.startswith(b":") for line in lines):
            self.comments += 1
            self.connected.set()
        data = [line[6:] for line in lines if line.startswith(b"data: ")]
        if b"event: log" in lines and data:
            self.events.append(orjson.loads(data[0]))


def test_fifty_tail_clients_get_a_new_line_while_search_is_answered(
    served: str,
    consumer: ModuleType,
    operator_headers: dict[str, str],
    make_record: RecordFactory,
) -> None:
    marker = os.urandom(6).hex()
    tail_url = f"{served}/api/tail?q=tail-{marker}"
    clients = [TailClient(tail_url, operator_headers, wanted=2) for _ in range(49)]
    picky = TailClient(tail_url + "&service=worker&level=warning", operator_headers, wanted=1)
    clients.append(picky)
    threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    for client in clients:
        assert client.connected.wait(30), "a tail client never connected"
        assert client.error is None, client.error

    search = requests.get(
        f"{served}/api/logs", params={"q": "anything"}, headers=operator_headers, timeout=10
    )
    assert search.status_code == 200 and search.json()["items"] == []

    send(LOGS_QUEUE, LOGS_ACTOR, records=[make_record(message=f"tail-{marker} first")])
    send(
        LOGS_QUEUE,
        LOGS_ACTOR,
        records=[
            make_record(message=f"tail-{marker} second", service="worker", level="ERROR"),
            make_record(message="some other line", service="worker", level="ERROR"),
        ],
    )
    for thread in threads:
        thread.join(30)
    assert all(client.error is None for client in clients), [c.error for c in clients]
    for client in clients[:-1]:
        assert [e["message"] for e in client.events] == [
            f"tail-{marker} first",
            f"tail-{marker} second",
        ]
    assert [e["message"] for e in picky.events] == [f"tail-{marker} second"]
    assert picky.events[0]["service"] == "worker" and picky.events[0]["id"] > 0


def test_tail_rejects_bad_filters_and_needs_a_token(
    client: FlaskClient, operator_headers: dict[str, str]
) -> None:
    assert client.get("/api/tail").status_code == 401
    response = client.get(
        "/api/tail", query_string={"level": "LOUD", "field": "x"}, headers=operator_headers
    )
    assert response.status_code == 422
    assert {"level", "field"} <= set(response.get_json()["error"]["fields"])
