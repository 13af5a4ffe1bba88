"""The real, unmodified sentry-sdk reports to the errors service over HTTP, and the issue
appears in the API: through a werkzeug server in a thread, and through real gunicorn."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import dramatiq
import pytest
import requests
import sentry_sdk
from flask import Flask
from werkzeug.serving import make_server

from loom_common.flask_app import app_database, app_settings
from loom_common.manifest import load_manifest
from loom_common.settings import Settings
from loom_common.testing import free_port, reconfigure, wait_until
from loom_errors.app import create_app
from loom_errors.projects.service import create_key, create_project, dsn

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICE_TOML = REPO_ROOT / "services" / "errors" / "service.toml"
BIN = Path(sys.executable).parent


def charge_card(amount: str) -> int:
    return int(amount)


def report(dsn_url: str, error: BaseException, **tags: str) -> None:
    """Send one exception with its own sentry-sdk client (HTTP transport), and wait for it."""
    client = sentry_sdk.Client(dsn=dsn_url, default_integrations=False, release="shop@3.1.0")
    with sentry_sdk.new_scope() as scope:
        scope.set_client(client)
        for name, value in tags.items():
            scope.set_tag(name, value)
        sentry_sdk.capture_exception(error)
    client.flush(timeout=10)
    client.close(timeout=10)


def issues(base_url: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = requests.get(f"{base_url}/api/issues", headers=headers, params=params, timeout=5)
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
def served(settings: Settings, actors: ModuleType) -> Iterator[tuple[Flask, str]]:
    """The app on a free port in a thread; yields it and its base URL."""
    port = free_port()
    app = create_app(settings.model_copy(update={"errors_url": f"http://127.0.0.1:{port}"}))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{port}"
    server.shutdown()
    app_database(app).dispose()


def test_an_exception_from_sentry_sdk_becomes_a_grouped_issue(
    served: tuple[Flask, str], worker: dramatiq.Worker, operator_headers: dict[str, str]
) -> None:
    app, base_url = served
    with app_database(app).session() as session:
        project = create_project(session, "shop")
        dsn_url = dsn(app_settings(app), create_key(session, project.id))

    for amount in ("ten", "eleven"):  # the same bug twice, from a loop
        try:
            charge_card(amount)
        except ValueError as error:
            report(dsn_url, error, service="shop")

    found = wait_until(
        lambda: [
            i for i in issues(base_url, operator_headers, project=project.id) if i["count"] == 2
        ],
        message="one issue with both events",
    )
    (issue,) = found
    assert issue["title"] == "ValueError: invalid literal for int() with base 10: 'eleven'"
    assert issue["culprit"] == f"{__name__}.charge_card"
    assert issue["release"] == "shop@3.1.0"
    assert issue["project_id"] == project.id
    events = requests.get(
        f"{base_url}/api/issues/{issue['id']}/events", headers=operator_headers, timeout=5
    ).json()
    assert len(events["items"]) == 2
    assert events["items"][0]["payload"]["sdk"]["name"] == "sentry.python"


def test_a_revoked_dsn_stops_being_accepted(
    served: tuple[Flask, str], operator_headers: dict[str, str]
) -> None:
    app, base_url = served
    with app_database(app).session() as session:
        key = create_key(session, 1)
        dsn_url = dsn(app_settings(app), key)
    requests.delete(f"{base_url}/api/keys/{key.public_key}", headers=operator_headers, timeout=5)
    refused_before = _refused(base_url, "revoked_key")

    try:
        charge_card("twelve")
    except ValueError as error:
        report(dsn_url, error)

    # The event (and the SDK's client report about it) were refused; nothing was queued.
    assert _refused(base_url, "revoked_key") > refused_before
    assert issues(base_url, operator_headers) == []


def test_sentry_sdk_backs_off_when_the_project_is_over_its_event_rate(
    served: tuple[Flask, str],
    worker: dramatiq.Worker,
    operator_headers: dict[str, str],
) -> None:
    app, base_url = served
    reconfigure(app, rate_per_second=0.01, rate_burst=2)  # two events, then one per 100 s
    with app_database(app).session() as session:
        project = create_project(session, "limited")
        dsn_url = dsn(app_settings(app), create_key(session, project.id))
    refused_before = _refused(base_url, "rate_limited")

    client = sentry_sdk.Client(dsn=dsn_url, default_integrations=False)
    with sentry_sdk.new_scope() as scope:
        scope.set_client(client)
        for number in range(6):
            sentry_sdk.capture_message(f"limited event {number}")
            client.flush(timeout=10)  # one envelope at a time, as a steady trickle would
    client.close(timeout=10)

    # Two taken, the third refused with X-Sentry-Rate-Limits; the SDK then kept the other
    # three to itself instead of sending them.
    assert _refused(base_url, "rate_limited") == refused_before + 1
    wait_until(
        lambda: sum(issue["count"] for issue in issues(base_url, operator_headers)) == 2,
        message="the two events within the limit",
    )


def _refused(base_url: str, reason: str) -> float:
    text = requests.get(f"{base_url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(f'loom_errors_ingest_refused_total{{reason="{reason}"}}'):
            return float(line.split()[-1])
    return 0.0


@pytest.fixture
def gunicorn_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The errors HTTP process, started by the command in service.toml; yields its base URL."""
    port = free_port()
    http = next(p for p in load_manifest(SERVICE_TOML).processes if p.kind == "http")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LOOM_SERVICE": "errors",
        "LOOM_ENV": "test",
        "LOOM_BROKER_URL": settings.broker_url,
        "LOOM_VAR_DIR": str(settings.var_dir),
        "LOOM_ERRORS_PORT": str(port),
        "LOOM_HTTP_WORKERS": "2",
        "LOOM_SHIP_LOGS": "false",
        "LOOM_CAPTURE_ERRORS": "false",
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


def test_through_gunicorn_the_default_dsn_reports_into_the_default_project(
    gunicorn_url: str,
    settings: Settings,
    actors: ModuleType,
    worker: dramatiq.Worker,
    operator_headers: dict[str, str],
    make_settings: Callable[..., Settings],
) -> None:
    printed = subprocess.run(
        [str(BIN / "flask"), "--app", "loom_errors.app", "projects", "dsn-default"],
        env={
            **os.environ,
            "LOOM_ENV": "test",
            "LOOM_VAR_DIR": str(settings.var_dir),
            "LOOM_BROKER_URL": settings.broker_url,
            "LOOM_ERRORS_URL": gunicorn_url,
            "LOOM_SHIP_LOGS": "false",
            "LOOM_CAPTURE_ERRORS": "false",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    dsn_url = printed.stdout.strip().splitlines()[-1]
    assert dsn_url.startswith("http://") and dsn_url.endswith("/1")

    try:
        charge_card("thirteen")
    except ValueError as error:
        report(dsn_url, error)

    (issue,) = wait_until(
        lambda: issues(gunicorn_url, operator_headers, project=1), message="the issue via gunicorn"
    )
    assert issue["title"].startswith("ValueError: invalid literal for int()")
    assert issue["count"] == 1
