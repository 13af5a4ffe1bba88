"""Requests per second of the web app's product pages under gunicorn, against the trivial
endpoint of bench/apps.py, measured in the same run.

- project page: a logged-in person's project page (50 tasks), with a warm read-through cache
- task list API: ``GET /api/v1/projects/<id>/tasks`` with a personal token, warm cache
- baseline: bare Flask's ``/ping`` (bench/apps.py), the same gunicorn settings

wrk (a separate process) loads each in turn, alternating in short rounds; each figure is the
median of its rounds, each ratio the median of the per-round ratios. The web app uses SQLite
and the in-process cache (LOOM_CACHE_URL unset) unless --redis is given.

    python bench/web_pages.py [--seconds 4] [--rounds 5] [--redis]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from web_overhead import BIN, GUNICORN_FLAGS, start

from loom_common.migrations import upgrade
from loom_common.testing import free_port, temporary_vhost, wait_until

PASSWORD = "bench password 1"


def start_web(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        str(BIN / "gunicorn"),
        *GUNICORN_FLAGS,
        "--bind",
        f"127.0.0.1:{port}",
        "loom_web.app:create_app()",
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok, timeout=30)
    return process


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def seed(base: str, tasks: int) -> tuple[str, str, str]:
    """A person, a project with ``tasks`` tasks; their session cookie, API token, project id."""
    browser = requests.Session()
    page = browser.get(f"{base}/register").text
    form = {"email": "bench@example.com", "name": "Bench", "password": PASSWORD}
    browser.post(
        f"{base}/register", data={**form, "confirm": PASSWORD, "csrf_token": _csrf(page)}
    ).raise_for_status()
    login = {"email": form["email"], "password": PASSWORD}
    page = browser.get(f"{base}/login").text
    browser.post(f"{base}/login", data={**login, "csrf_token": _csrf(page)}).raise_for_status()
    token = requests.post(
        f"{base}/api/v1/auth/token", json={"email": form["email"], "password": PASSWORD}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    project_id = requests.post(
        f"{base}/api/v1/projects", json={"name": "Bench project"}, headers=headers
    ).json()["id"]
    for number in range(tasks):
        requests.post(
            f"{base}/api/v1/projects/{project_id}/tasks",
            json={"title": f"Task {number}", "description": "something to do " * 5},
            headers=headers,
        ).raise_for_status()
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    return cookie, token, str(project_id)


def wrk(url: str, seconds: int, header: str | None = None) -> float:
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", url]
    if header:
        command[1:1] = ["-H", header]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} failed responses:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--redis", action="store_true", help="cache in redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")

    with temporary_vhost() as broker_url, tempfile.TemporaryDirectory() as var_dir:
        metrics_dir = Path(var_dir) / "metrics"
        metrics_dir.mkdir()
        env = {
            **os.environ,
            "LOOM_ENV": "test",
            "LOOM_SERVICE": "web",
            "LOOM_BROKER_URL": broker_url,
            "LOOM_VAR_DIR": var_dir,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        if args.redis:
            env["LOOM_CACHE_URL"] = "redis://127.0.0.1:6379/0"
        upgrade("web", f"sqlite:///{Path(var_dir) / 'web.db'}")
        bare_port, web_port = free_port(), free_port()
        servers = [start("apps:create_bare_app()", bare_port, env), start_web(web_port, env)]
        try:
            base = f"http://127.0.0.1:{web_port}"
            cookie, token, project_id = seed(base, args.tasks)
            page_url = f"{base}/projects/{project_id}"
            list_url = f"{base}/api/v1/projects/{project_id}/tasks"
            page = requests.get(page_url, headers={"Cookie": cookie})
            assert page.ok and "Task 0" in page.text and "Log out" in page.text, "not logged in"
            targets = {
                "bare Flask /ping": (f"http://127.0.0.1:{bare_port}/ping", None),
                "project page (warm cache)": (page_url, f"Cookie: {cookie}"),
                "task list API (warm cache)": (list_url, f"Authorization: Bearer {token}"),
            }
            for url, header in targets.values():  # warm up servers and caches
                wrk(url, 2, header)
            rounds: dict[str, list[float]] = {name: [] for name in targets}
            for _ in range(args.rounds):
                for name, (url, header) in targets.items():
                    rounds[name].append(wrk(url, args.seconds, header))
            hits = requests.get(f"{base}/metrics").text
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)

    print(f"load generator: wrk -t2 -c32, {args.rounds} rounds of {args.seconds}s, alternating")
    print(f"gunicorn: {' '.join(GUNICORN_FLAGS)}; cache: {'Redis' if args.redis else 'in-process'}")
    baseline = rounds["bare Flask /ping"]
    for name, figures in rounds.items():
        ratio = statistics.median(f / b for f, b in zip(figures, baseline, strict=True))
        print(
            f"{name:28}: {statistics.median(figures):8.0f} req/s  ratio to bare {ratio:.3f}"
            f"  (rounds: {', '.join(f'{r:.0f}' for r in figures)})"
        )
    cache = dict(
        re.findall(r'loom_web_cache_lookups_total\{result="(\w+)",what="tasks"\} ([\d.e+]+)', hits)
    )
    print(f"task list cache lookups: {cache}")


if __name__ == "__main__":
    main()
