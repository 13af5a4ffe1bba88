"""The four services as real processes (gunicorn and dramatiq, as declared in each
``service.toml``), on free ports, with their own databases and a fresh RabbitMQ vhost."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from loom_common.manifest import REPO_ROOT, Process, ServiceManifest, load_manifests
from loom_common.settings import DEFAULT_API_TOKEN
from loom_common.testing import free_port, temporary_vhost, wait_until

BIN = Path(sys.executable).parent
ARTIFACTS = REPO_ROOT / "artifacts" / "integration"


class MailSink(Message):
    """The SMTP sink of the stack: every email the services send, parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[EmailMessage] = []

    def handle_message(self, message: EmailMessage) -> None:  # type: ignore[override]
        self.messages.append(message)


@dataclass
class Stack:
    urls: dict[str, str]
    env: dict[str, str]
    var_dir: Path
    mail: MailSink = field(default_factory=MailSink)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    headers: dict[str, str] = field(
        default_factory=lambda: {"Authorization": f"Bearer {DEFAULT_API_TOKEN}"}
    )
    manifests: dict[str, ServiceManifest] = field(default_factory=dict)
    logs_dir: Path = ARTIFACTS

    def request(
        self,
        method: str,
        service: str,
        path: str,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """A request to one service with the operator token (and any extra headers)."""
        all_headers = {**self.headers, **(headers or {})}
        return requests.request(
            method, self.urls[service] + path, headers=all_headers, timeout=10, **kwargs
        )

    def get(self, service: str, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", service, path, **kwargs)

    def post(self, service: str, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", service, path, **kwargs)

    def launch(self, manifest: ServiceManifest, process: Process, log_mode: str = "wb") -> None:
        """Start one process of a service as its manifest says, output to its log file."""
        process_env = {**self.env, **manifest.environment(self.var_dir / "metrics")}
        Path(process_env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        with (self.logs_dir / f"{process.name}.log").open(log_mode) as log:
            self.processes[process.name] = subprocess.Popen(
                shlex.split(process.command),
                env=process_env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, service: str, timeout: float = 180) -> None:
        url = self.urls[service]
        wait_until(lambda: _ready(url), timeout=timeout, message=f"{service} to be ready")

    def stop_service(self, service: str) -> None:
        """SIGTERM every process of one service and wait for them to exit."""
        manifest = self.manifests[service]
        _stop({p.name: self.processes[p.name] for p in manifest.processes})

    def start_service(self, service: str) -> None:
        """Start a stopped service again (same commands and environment, logs appended)."""
        manifest = self.manifests[service]
        for process in manifest.processes:
            if self.processes[process.name].poll() is not None:
                self.launch(manifest, process, log_mode="ab")
        self.wait_ready(service)

    @contextlib.contextmanager
    def service_stopped(self, service: str) -> Iterator[None]:
        """The service is down inside the block, and up again after it, even on failure."""
        self.stop_service(service)
        try:
            yield
        finally:
            self.start_service(service)


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def broker_stopped() -> Iterator[None]:
    """Stops the RabbitMQ application (the node stays up, so the restart is quick)."""
    rabbitmqctl("stop_app")
    try:
        yield
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _ready(url: str) -> bool:
    return requests.get(url + "/readyz", timeout=2).status_code == 200


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("var")
    logs_dir = ARTIFACTS
    logs_dir.mkdir(parents=True, exist_ok=True)
    manifests = load_manifests()
    mail = MailSink()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with temporary_vhost() as broker_url:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "LOOM_ENV": "test",
            "LOOM_BROKER_URL": broker_url,
            "LOOM_VAR_DIR": str(var_dir),
            "LOOM_LOG_SHIP_INTERVAL": "0.2",
            "LOOM_HTTP_WORKERS": "1",
            "LOOM_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
            "LOOM_LOGS_GELF_PORT": str(free_port()),
        }
        urls = {}
        for manifest in manifests:
            port = free_port()
            env[manifest.port_env] = str(port)
            urls[manifest.name] = f"http://127.0.0.1:{port}"
        stack = Stack(
            urls=urls,
            env=env,
            var_dir=var_dir,
            mail=mail,
            manifests={manifest.name: manifest for manifest in manifests},
            logs_dir=logs_dir,
        )
        try:
            migrated = [manifest.name for manifest in manifests if manifest.migrations]
            subprocess.run([BIN / "loom-migrate", *migrated], env=env, check=True)
            for manifest in manifests:
                for process in manifest.processes:
                    stack.launch(manifest, process)
            for name in urls:
                stack.wait_ready(name)
            yield stack
        finally:
            _stop(stack.processes)
            smtp.stop()
