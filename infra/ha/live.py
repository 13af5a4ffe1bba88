"""A running HA topology, read from its ``topology.json``: what tests and operators act on.

    topology = LiveTopology.load(Path("var/ha/topology.json"))
    topology.entry_urls["web"]               # http://10.77.0.61:8000
    topology.run("ha-mq1", "rabbitmqctl", "cluster_status")   # over SSH, as root
    topology.kill("ha-web1")                 # SIGKILL every process of the host but its sshd
    topology.pull_cable("ha-mq2"); topology.plug_cable("ha-mq2")
    topology.pids("ha-pg1")                  # what runs in its namespace now

Host names may be given in full (``ha-web1``) or short (``web1``), whatever the prefix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import network
import ssh
from topology import Host


@dataclass(frozen=True)
class LiveHost:
    name: str
    address: str
    roles: tuple[str, ...]
    root: Path
    veth: str

    def as_host(self) -> Host:
        return Host(self.name, self.address, self.roles, self.root)


@dataclass(frozen=True)
class LiveTopology:
    prefix: str
    hosts: tuple[LiveHost, ...]
    entry_urls: dict[str, str]
    gelf_tcp: str
    broker_url: str
    database_urls: dict[str, str]
    ssh_key: Path
    inventory: Path
    var: Path

    @classmethod
    def load(cls, path: Path) -> LiveTopology:
        data = json.loads(path.read_text())
        hosts = tuple(
            LiveHost(h["name"], h["address"], tuple(h["roles"]), Path(h["root"]), h["veth"])
            for h in data["hosts"]
        )
        return cls(
            prefix=data["prefix"], hosts=hosts, entry_urls=data["entry_urls"],
            gelf_tcp=data["gelf_tcp"], broker_url=data["broker_url"],
            database_urls=data["database_urls"], ssh_key=Path(data["ssh_key"]),
            inventory=Path(data["inventory"]), var=Path(data["var"]),
        )  # fmt: skip

    def host(self, name: str) -> LiveHost:
        for host in self.hosts:
            if name in (host.name, host.name.removeprefix(self.prefix)):
                return host
        raise KeyError(f"no host {name!r} in the topology")

    def with_role(self, role: str) -> list[LiveHost]:
        return [host for host in self.hosts if role in host.roles]

    def ssh_command(self, host: str, *command: str) -> list[str]:
        return [
            "ssh", "-i", str(self.ssh_key), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5", f"root@{self.host(host).address}", *command,
        ]  # fmt: skip

    def run(
        self, host: str, *command: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """A command on the host over SSH (its output captured; check the return code yourself)."""
        return subprocess.run(
            self.ssh_command(host, *command), capture_output=True, text=True, timeout=timeout
        )

    def pids(self, host: str) -> list[int]:
        return network.pids(self.host(host).as_host())

    def sshd_pid(self, host: str) -> int | None:
        pid_file = self.host(host).root / "sshd.pid"
        return int(pid_file.read_text()) if pid_file.exists() else None

    def kill(self, host: str) -> list[int]:
        """SIGKILL every process of the host except its sshd (the host "crashed"; it can be
        reached again to start things). Returns the pids killed."""
        keep = self.sshd_pid(host)
        victims = [pid for pid in self.pids(host) if pid != keep]
        ssh.kill_everything(victims)
        return victims

    def pull_cable(self, host: str) -> None:
        network.pull_cable(self.host(host).as_host())

    def plug_cable(self, host: str) -> None:
        network.plug_cable(self.host(host).as_host())
