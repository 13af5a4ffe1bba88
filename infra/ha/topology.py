"""The hosts of the HA test topology: names, addresses and roles (the production inventory's shape).

A topology is built with a name prefix and a subnet, so that two of them (a developer's and a
test run's) can live on one machine side by side.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# (short name, last octet, inventory groups). Errors and logs share their two hosts, as the
# production inventory has it; etcd's third member is a witness that holds no data.
HOSTS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("mq1", 11, ("rabbitmq",)),
    ("mq2", 12, ("rabbitmq",)),
    ("mq3", 13, ("rabbitmq",)),
    ("pg1", 21, ("postgresql", "etcd")),
    ("pg2", 22, ("postgresql", "etcd")),
    ("etcd3", 23, ("etcd",)),
    ("web1", 31, ("web",)),
    ("web2", 32, ("web",)),
    ("worker1", 41, ("worker",)),
    ("worker2", 42, ("worker",)),
    ("ops1", 51, ("errors", "logs")),
    ("ops2", 52, ("errors", "logs")),
    ("lb", 61, ("loadbalancer",)),
    ("cache", 71, ("redis",)),
)


@dataclass(frozen=True)
class Host:
    name: str  # also the network namespace's name and the inventory name
    address: str
    roles: tuple[str, ...]
    root: Path  # everything the host writes lives here

    @property
    def veth(self) -> str:
        """The root-side end of the host's cable (at most 15 characters, as Linux wants)."""
        return f"v{self.name}"[:15]


@dataclass(frozen=True)
class Topology:
    prefix: str = "ha-"
    subnet: str = "10.77.0"  # a /24
    bridge: str = "loomha0"
    var: Path = REPO_ROOT / "var" / "ha"
    only: tuple[str, ...] = field(default=())  # short names; empty means every host

    @property
    def gateway(self) -> str:
        return f"{self.subnet}.1"

    @property
    def hosts(self) -> list[Host]:
        return [
            Host(
                f"{self.prefix}{short}",
                f"{self.subnet}.{octet}",
                roles,
                self.var / "hosts" / f"{self.prefix}{short}",
            )
            for short, octet, roles in HOSTS
            if not self.only or short in self.only
        ]

    def host(self, short_or_full: str) -> Host:
        for host in self.hosts:
            if short_or_full in (host.name, host.name.removeprefix(self.prefix)):
                return host
        raise KeyError(f"no host {short_or_full!r} in the topology")

    def with_role(self, role: str) -> list[Host]:
        return [host for host in self.hosts if role in host.roles]

    def hosts_file(self) -> str:
        """/etc/hosts as every namespace sees it: each host by name, the controller, and the
        machine's own name (namespaces share it, and Erlang and sshd look it up)."""
        lines = [f"127.0.0.1 localhost {socket.gethostname()}", "::1 localhost"]
        lines += [f"{self.gateway} {self.prefix}controller"]
        lines += [f"{host.address} {host.name}" for host in self.hosts]
        return "\n".join(lines) + "\n"

    def save(self, path: Path, extra: dict[str, object]) -> None:
        path.write_text(json.dumps(extra, indent=2) + "\n")
