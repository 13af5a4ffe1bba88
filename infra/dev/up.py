"""``make up``: run every Loom service on this machine, under one process manager (honcho).

Reads each service's ``services/<name>/service.toml``, makes sure RabbitMQ answers (and its
management API, which the worker's queues API reads), runs the migrations, writes
``var/Procfile`` and starts it; prints the URLs once every service is ready. ``--detach`` runs in the background (logs in ``var/up.log``); ``--down`` stops that.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from loom_common.manifest import REPO_ROOT, ServiceManifest, load_manifests
from loom_common.settings import Settings, load_settings

VAR = REPO_ROOT / "var"
PID_FILE = VAR / "up.pid"
LOG_FILE = VAR / "up.log"
SMTP_PORT = 1025
BIN = Path(sys.executable).parent


def say(message: str) -> None:
    print(f"loom: {message}", flush=True)


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def running_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def ensure_rabbitmq() -> None:
    if answers("127.0.0.1", 5672):
        return
    if shutil.which("rabbitmq-server") is None:
        sys.exit(
            "loom: RabbitMQ is not installed. Install it with: sudo apt-get install -y rabbitmq-server"
        )
    say("RabbitMQ is stopped; starting it (rabbitmq-server -detached)")
    subprocess.run(["rabbitmq-server", "-detached"], check=True)
    subprocess.run(["rabbitmqctl", "await_startup", "--timeout", "60"], check=True)


MANAGEMENT_PLUGIN = "rabbitmq_management"
ENABLE_MANAGEMENT = f"rabbitmq-plugins enable {MANAGEMENT_PLUGIN}"


def _management_address(settings: Settings) -> tuple[str, int]:
    url = urlsplit(settings.management_url)
    return url.hostname or "127.0.0.1", url.port or 15672


def ensure_management_api(settings: Settings, timeout: float = 30) -> bool:
    """The worker's queues API reads RabbitMQ's management API: enable its plugin on a local
    node if it is off, or say how to. Never fatal: everything else works without it."""
    host, port = _management_address(settings)
    if answers(host, port):
        return True
    local = host in ("127.0.0.1", "localhost", "::1")
    if not local or shutil.which("rabbitmq-plugins") is None:
        say(
            f"RabbitMQ's management API is not answering at {host}:{port}, so GET /api/queues "
            f"on the worker answers 503; enable it on the RabbitMQ node with: {ENABLE_MANAGEMENT}"
        )
        return False
    say(f"enabling RabbitMQ's management API for the worker's queues API ({ENABLE_MANAGEMENT})")
    enabled = subprocess.run(
        ["rabbitmq-plugins", "enable", MANAGEMENT_PLUGIN], capture_output=True, text=True
    )
    deadline = time.monotonic() + timeout
    while enabled.returncode == 0 and time.monotonic() < deadline:
        if answers(host, port):
            return True
        time.sleep(0.5)
    detail = (enabled.stderr or enabled.stdout).strip().splitlines()
    say(
        f"could not enable the management API ({detail[-1] if detail else 'no answer'}); "
        f"GET /api/queues on the worker answers 503 until it runs: {ENABLE_MANAGEMENT}"
    )
    return False


def migrate(manifests: list[ServiceManifest]) -> None:
    services = [manifest.name for manifest in manifests if manifest.migrations]
    subprocess.run([BIN / "loom-migrate", *services], check=True)


def write_procfile(manifests: list[ServiceManifest]) -> Path:
    metrics = VAR / "metrics"
    shutil.rmtree(metrics, ignore_errors=True)  # multiprocess samples of a previous run
    lines = []
    for manifest in manifests:
        (metrics / manifest.name).mkdir(parents=True, exist_ok=True)
        env = " ".join(f"{k}={v}" for k, v in manifest.environment(metrics).items())
        lines += [f"{p.name}: env {env} {p.command}" for p in manifest.processes]
    mail = VAR / "mail"
    lines.append(
        f"smtp: {BIN / 'python'} -m aiosmtpd -n -l 127.0.0.1:{SMTP_PORT} "
        f"-c aiosmtpd.handlers.Mailbox {mail}"
    )
    procfile = VAR / "Procfile"
    procfile.write_text("\n".join(lines) + "\n")
    return procfile


def wait_until_ready(manifests: list[ServiceManifest], timeout: float = 60) -> list[str] | None:
    """The service URLs once every /readyz answers 200; None (after saying which) if not."""
    settings = load_settings()
    urls = {m.name: f"http://{settings.host}:{settings.port(m.name)}" for m in manifests}
    pending = dict(urls)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        del pending[name]
            except OSError:
                pass
        time.sleep(0.5)
    if pending:
        say("not ready after {:.0f}s: {}".format(timeout, ", ".join(pending)))
        return None
    return [f"  {name:<7} {url}" for name, url in urls.items()]


def default_dsn() -> str | None:
    """The Sentry DSN of the errors service's default project (a key is made the first time)."""
    reply = subprocess.run(
        [str(BIN / "flask"), "--app", "loom_errors.app", "projects", "dsn-default"],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = reply.stdout.strip().splitlines()
    return lines[-1] if reply.returncode == 0 and lines else None


def operator_token_line(settings: Settings) -> str:
    """The sign-in hint, with the token the services were started with (LOOM_API_TOKEN or the
    dev default), read from the same settings object they read."""
    token = settings.api_token.get_secret_value()
    return f"  operator pages (errors, logs) sign in with the token: {token}"


def print_urls(lines: list[str] | None, settings: Settings) -> None:
    if lines is None:
        return
    say("all services are up:\n" + "\n".join(lines))
    print(f"  {'smtp':<7} smtp://127.0.0.1:{SMTP_PORT} (mail kept in {VAR / 'mail'})", flush=True)
    print(operator_token_line(settings), flush=True)
    dsn = default_dsn()
    if dsn:
        print(f"  sentry-sdk DSN for your own apps: {dsn}", flush=True)


def up(detach: bool) -> None:
    pid = running_pid()
    if pid is not None:
        say(f"already running (pid {pid}); `make down` stops it")
        return
    manifests = load_manifests()
    settings = load_settings()
    ensure_rabbitmq()
    ensure_management_api(settings)
    VAR.mkdir(exist_ok=True)
    migrate(manifests)
    procfile = write_procfile(manifests)
    command = [str(BIN / "honcho"), "-f", str(procfile), "-d", str(REPO_ROOT), "start"]
    # The processes find gunicorn, dramatiq and python in this virtualenv.
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    if detach:
        with LOG_FILE.open("ab") as log:
            honcho = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        PID_FILE.write_text(str(honcho.pid))
        ready = wait_until_ready(manifests)
        if ready is None:
            down()
            sys.exit(f"loom: stopped everything; see {LOG_FILE} for why")
        print_urls(ready, settings)
        say(f"running in the background (logs: {LOG_FILE}); `make down` stops it")
        return
    honcho = subprocess.Popen(command)
    PID_FILE.write_text(str(honcho.pid))
    # Ctrl-C reaches honcho too (same process group); it stops its children, we wait for it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        print_urls(wait_until_ready(manifests), settings)
        honcho.wait()
    finally:
        PID_FILE.unlink(missing_ok=True)


def down() -> None:
    pid = running_pid()
    if pid is None:
        say("nothing is running")
        PID_FILE.unlink(missing_ok=True)
        return
    # honcho passes SIGTERM to each process once; signalling the whole group as well would
    # reach a dramatiq worker twice, and a second SIGTERM makes it quit without finishing jobs.
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while running_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if running_pid() is not None:
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    say(f"stopped (pid {pid})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--detach", action="store_true", help="run in the background")
    parser.add_argument("--down", action="store_true", help="stop a detached run")
    args = parser.parse_args()
    os.chdir(REPO_ROOT)
    down() if args.down else up(args.detach)


if __name__ == "__main__":
    main()
