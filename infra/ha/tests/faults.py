"""What the fault tests share: the load's targets on a live topology, putting hosts back through
Ansible, waiting for the topology to be whole, and the report file.

Putting a host back goes through the same playbooks as production (``site.yml --limit <host>``
over SSH): its roles start whatever is not running, as they would after a real crash.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from live import LiveTopology
from load import Report, Targets
from topology import REPO_ROOT

ANSIBLE_DIR = REPO_ROOT / "infra" / "ansible"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
# The report survives ``ha-down`` (which removes var/ha-ht) in this copy.
KEPT_REPORT = REPO_ROOT / "var" / "ha-fault-report.json"


def secrets_of(topology: LiveTopology) -> dict[str, str]:
    values: dict[str, str] = json.loads((topology.var / "secrets.json").read_text())
    return values


def targets(topology: LiveTopology) -> Targets:
    """The entry URLs, the operator token, and the DSN of an errors project made for the load."""
    token = secrets_of(topology)["LOOM_API_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"}
    errors = topology.entry_urls["errors"]
    listed = requests.get(f"{errors}/api/projects", headers=headers, timeout=10)
    listed.raise_for_status()
    project = next((p for p in listed.json()["items"] if p["name"] == "ha-load"), None)
    if project is None:
        made = requests.post(
            f"{errors}/api/projects", json={"name": "ha-load"}, headers=headers, timeout=10
        )
        made.raise_for_status()
        project = made.json()
    keys_url = f"{errors}/api/projects/{project['id']}/keys"
    keys = requests.get(keys_url, headers=headers, timeout=10)
    keys.raise_for_status()
    live_keys = [key for key in keys.json()["items"] if key["revoked_at"] is None]
    if not live_keys:
        made_key = requests.post(keys_url, json={}, headers=headers, timeout=10)
        made_key.raise_for_status()
        live_keys = [made_key.json()]
    return Targets(urls=dict(topology.entry_urls), api_token=token, dsn=live_keys[0]["dsn"])


def ansible_environment(topology: LiveTopology) -> dict[str, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"))
    env.update(
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_PIPELINING="True",
        ANSIBLE_LOCAL_TEMP=str(topology.var / "ansible-tmp"),
        ANSIBLE_TIMEOUT="30",
    )
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_logged(topology: LiveTopology, name: str, command: list[str]) -> None:
    log = topology.var / "logs" / f"faults-{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        result = subprocess.run(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
            env=ansible_environment(topology), timeout=600,
        )  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise AssertionError(f"{name} failed (exit {result.returncode}); {log}:\n{tail}")


def restore(topology: LiveTopology, *hosts: str) -> None:
    """site.yml on those hosts only: the roles start what the crash left stopped."""
    names = ",".join(topology.host(host).name for host in hosts)
    run_logged(
        topology,
        f"restore-{names.replace(',', '+')}",
        [str(VENV_BIN / "ansible-playbook"), "-i", str(topology.inventory),
         str(ANSIBLE_DIR / "site.yml"), "--limit", names],
    )  # fmt: skip


def deploy(topology: LiveTopology, service: str) -> None:
    """``make deploy`` exactly as an operator runs it against the topology's inventory."""
    run_logged(
        topology,
        f"deploy-{service}",
        ["make", "--no-print-directory", "deploy", f"SERVICE={service}",
         f"INVENTORY={topology.inventory}", f"ARTIFACTS={topology.var / 'dist'}"],
    )  # fmt: skip


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check`` every half second; return when it held (time.monotonic())."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return time.monotonic()
        except (requests.RequestException, OSError, ValueError, subprocess.TimeoutExpired):
            pass  # not yet
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.5)


def get(url: str, **kwargs: Any) -> requests.Response:
    return requests.get(url, timeout=3, **kwargs)


def host_ready(topology: LiveTopology, host: str, port: int) -> bool:
    """The host's own nginx answers /readyz (what the load balancer's health check asks)."""
    return get(f"http://{topology.host(host).address}:{port}/readyz").status_code == 200


def rabbitmq_nodes(topology: LiveTopology) -> list[dict[str, Any]]:
    """The cluster's nodes as the first reachable node's management API sees them."""
    password = secrets_of(topology)["BROKER_PASSWORD"]
    for host in topology.with_role("rabbitmq"):
        try:
            response = get(f"http://{host.address}:15672/api/nodes", auth=("loom", password))
        except requests.RequestException:
            continue
        if response.status_code == 200:
            nodes: list[dict[str, Any]] = response.json()
            return nodes
    return []


def rabbitmq_whole(topology: LiveTopology) -> bool:
    """Every node running, none seeing a partition: the cluster healed."""
    nodes = rabbitmq_nodes(topology)
    expected = len(topology.with_role("rabbitmq"))
    running = [node for node in nodes if node.get("running")]
    return len(running) == expected and not any(node.get("partitions") for node in nodes)


def patroni(topology: LiveTopology, host: str, check: str) -> bool:
    """Patroni's REST API: /primary answers 200 on the leader only, /replica on a streaming
    standby only."""
    return get(f"http://{topology.host(host).address}:8008/{check}").status_code == 200


def patroni_primary(topology: LiveTopology) -> str | None:
    for host in topology.with_role("postgresql"):
        try:
            if patroni(topology, host.name, "primary"):
                return host.name
        except requests.RequestException:
            continue
    return None


def write_report(
    topology: LiveTopology, name: str, figures: dict[str, Any], report: Report
) -> None:
    """Add one fault's figures to var/ha-ht/fault-report.json (and its kept copy), and print them."""
    entry = {**figures, **report.as_dict()}
    for path in (topology.var / "fault-report.json", KEPT_REPORT):
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing[name] = entry
        path.write_text(json.dumps(existing, indent=2) + "\n")
    print(f"\n== {name}: {json.dumps(figures)}\n{report.summary()}")


def pids_of(topology: LiveTopology, host: str, *words: str) -> list[int]:
    """The host's processes whose command line names one of ``words``."""
    found = []
    for pid in topology.pids(host):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if any(word in command for word in words):
            found.append(pid)
    return found


def haproxy_status(topology: LiveTopology, backend: str, server: str) -> str:
    """A server's state as HAProxy sees it (UP, DOWN, ``UP 1/2``...), read from its admin
    socket: a Unix socket lives on the shared disk, so the test reaches it from the root
    namespace without SSH."""
    import socket  # only here: the one Unix-socket client of the tests

    path = topology.with_role("loadbalancer")[0].root / "run" / "haproxy.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(3)
        client.connect(str(path))
        client.sendall(b"show stat\n")
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    header, *rows = b"".join(chunks).decode().splitlines()
    columns = header.lstrip("# ").split(",")
    for row in rows:
        values = dict(zip(columns, row.split(","), strict=False))
        if values.get("pxname") == backend and values.get("svname") == server:
            return values.get("status", "")
    raise KeyError(f"HAProxy has no server {server} in {backend}")
