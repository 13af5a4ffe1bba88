"""A throwaway Loom host on this machine: everything a deploy touches lives under one folder.

supervisord from the virtualenv, nginx from Debian (its own prefix, not a daemon), a fresh
RabbitMQ vhost, SQLite files and one fresh PostgreSQL database, free ports, a self-signed
certificate, and an inventory that points every service group at ``localhost``.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from loom_common.testing import free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO_ROOT / "infra" / "ansible"
BIN = Path(sys.executable).parent
SERVICES = ("web", "worker", "errors", "logs")
# Staging refuses short secrets: these pass its checks.
API_TOKEN = "test-operator-token-0123456789abcdef"
SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def process_environment(pid: int) -> dict[str, str]:
    """The environment a running process was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (entry.decode(errors="replace").partition("=") for entry in raw.split(b"\0") if entry)
    return {key: value for key, _, value in pairs}


@dataclass
class LocalStage:
    root: Path
    broker_url: str
    web_database_url: str
    artifacts: Path
    public_ports: dict[str, int] = field(default_factory=dict)
    slot_ports: dict[str, list[int]] = field(default_factory=dict)
    nginx: subprocess.Popen[bytes] | None = None

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yml"

    @property
    def certificate(self) -> Path:
        return self.root / "tls" / "loom.crt"

    @property
    def supervisor_config(self) -> Path:
        return self.root / "supervisor" / "supervisord.conf"

    @property
    def nginx_config(self) -> Path:
        return self.root / "nginx" / "nginx.conf"

    def url(self, service: str, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.public_ports[service]}{path}"

    def get(
        self,
        service: str,
        path: str,
        params: dict[str, str | int] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """GET through nginx, over TLS checked against the test's own certificate."""
        return requests.get(
            self.url(service, path),
            params=params,
            headers=headers,
            verify=str(self.certificate),
            timeout=10,
        )

    # -- setting up -------------------------------------------------------------------

    def prepare(self) -> None:
        for service in SERVICES:
            self.public_ports[service] = free_port()
            self.slot_ports[service] = [free_port(), free_port()]
        self._make_certificate()
        self._write_settings()
        self._write_inventory()

    def _make_certificate(self) -> None:
        self.certificate.parent.mkdir(parents=True)  # also makes the root
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(self.certificate.with_suffix(".key")), "-out", str(self.certificate)],
            check=True, capture_output=True,
        )  # fmt: skip

    def _write_settings(self) -> None:
        """The environment's settings.env, shaped like staging's, pointing at this machine."""
        databases = self.root / "databases"
        databases.mkdir()
        lines = {
            "LOOM_ENV": "staging",
            "LOOM_HOST": "127.0.0.1",
            "LOOM_SECRET_KEY": "${LOOM_SECRET_KEY}",
            "LOOM_API_TOKEN": "${LOOM_API_TOKEN}",
            "LOOM_BROKER_URL": self.broker_url,
            "LOOM_WEB_DATABASE_URL": self.web_database_url,
            "LOOM_WORKER_DATABASE_URL": f"sqlite:///{databases}/worker.db",
            "LOOM_ERRORS_DATABASE_URL": f"sqlite:///{databases}/errors.db",
            "LOOM_LOGS_DATABASE_URL": f"sqlite:///{databases}/logs.db",
            "LOOM_HTTP_WORKERS": "2",
            "LOOM_HTTP_THREADS": "4",
            "LOOM_LOG_FORMAT": "json",
        }
        for service in SERVICES:
            lines[f"LOOM_{service.upper()}_URL"] = self.url(service).rstrip("/")
        text = "".join(f"{key}={value}\n" for key, value in lines.items())
        (self.root / "settings.env").write_text(text)

    def _write_inventory(self) -> None:
        supervisor = self.root / "supervisor"
        nginx = self.root / "nginx"
        host_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "ansible_become": False,
            "loom_environment": "local-test",
            "loom_root": str(self.root / "srv"),
            "loom_manage_user": False,
            "loom_python": sys.executable,
            "loom_settings_file": str(self.root / "settings.env"),
            "loom_secrets": {"LOOM_SECRET_KEY": SECRET_KEY, "LOOM_API_TOKEN": API_TOKEN},
            "loom_slot_ports": self.slot_ports,
            "loom_public": {
                service: {"server_name": "127.0.0.1", "port": port}
                for service, port in self.public_ports.items()
            },
            "loom_tls": True,
            "loom_tls_certificate": str(self.certificate),
            "loom_tls_certificate_key": str(self.certificate.with_suffix(".key")),
            "loom_ready_timeout": 12,
            # uv installs the same wheels with the same hashes as pip, several times faster.
            "loom_installer": "uv",
            "loom_consumer_stop_seconds": 60,
            "loom_nginx": f"/usr/sbin/nginx -c {self.nginx_config} -p {nginx} -e {nginx}/logs/error.log",
            "supervisor_install_package": False,
            "supervisor_systemd": False,
            "supervisor_bin_dir": str(BIN),
            "supervisor_config": str(self.supervisor_config),
            "supervisor_include_dir": str(supervisor / "conf.d"),
            "supervisor_run_dir": str(supervisor / "run"),
            "supervisor_log_dir": str(supervisor / "logs"),
            "nginx_install_package": False,
            "nginx_manage_service": False,
            "nginx_config": str(self.nginx_config),
            "nginx_prefix": str(nginx),
            "nginx_sites_dir": str(nginx / "sites"),
            "nginx_pid_file": str(nginx / "nginx.pid"),
            "nginx_log_dir": str(nginx / "logs"),
            "nginx_temp_dir": str(nginx / "temp"),
            "nginx_user": getpass.getuser(),
            "nginx_worker_processes": 2,
        }
        groups = {service: {"hosts": {"localhost": None}} for service in SERVICES}
        inventory = {"all": {"hosts": {"localhost": host_vars}, "children": groups}}
        self.inventory.write_text(json.dumps(inventory, indent=2))  # JSON is YAML

    # -- running ----------------------------------------------------------------------

    def ansible(self, playbook: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(ANSIBLE_DIR / playbook), *args],
            env=self.environment(), capture_output=True, text=True, cwd=REPO_ROOT,
        )  # fmt: skip

    def make(self, target: str, *variables: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", target, f"INVENTORY={self.inventory}",
             f"ARTIFACTS={self.artifacts}", f"ANSIBLE_PLAYBOOK={BIN / 'ansible-playbook'}", *variables],
            env=self.environment(), capture_output=True, text=True, cwd=REPO_ROOT,
        )  # fmt: skip

    def environment(self) -> dict[str, str]:
        env = dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"))
        env["ANSIBLE_LOCAL_TEMP"] = str(self.root / "ansible-tmp")
        env["ANSIBLE_REMOTE_TEMP"] = str(self.root / "ansible-tmp")
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        return env

    def set_up_host(self) -> None:
        """The service-host part of site.yml (supervisord, nginx's config), then nginx itself."""
        result = self.ansible("site.yml")
        assert result.returncode == 0, result.stdout + result.stderr
        nginx = self.root / "nginx"
        (nginx / "logs").mkdir(parents=True, exist_ok=True)
        self.nginx = subprocess.Popen(
            ["/usr/sbin/nginx", "-c", str(self.nginx_config), "-p", str(nginx),
             "-e", str(nginx / "logs" / "error.log"), "-g", "daemon off;"],
        )  # fmt: skip
        wait_until(lambda: (nginx / "nginx.pid").exists(), timeout=10, message="nginx to start")

    def supervisorctl(self, *args: str) -> str:
        result = subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(self.supervisor_config), *args],
            capture_output=True, text=True,
        )  # fmt: skip
        return result.stdout

    def process_ids(self) -> dict[str, int]:
        """The pid of every running supervisor program, by program name."""
        pids = {}
        for line in self.supervisorctl("status").splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[1] == "RUNNING" and parts[2] == "pid":
                pids[parts[0].split(":")[-1]] = int(parts[3].rstrip(","))
        return pids

    def state(self, service: str) -> dict[str, object]:
        return json.loads((self.root / "srv" / service / "state" / "current.json").read_text())

    def tear_down(self) -> None:
        pid_file = self.root / "supervisor" / "run" / "supervisord.pid"
        supervisord = int(pid_file.read_text()) if pid_file.exists() else None
        self.supervisorctl("shutdown")
        if supervisord is not None:  # it stops every program (gracefully) before it exits
            wait_until(lambda: not _alive(supervisord), timeout=120, message="supervisord to stop")
        if self.nginx is not None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
        shutil.rmtree(self.root / "srv", ignore_errors=True)
