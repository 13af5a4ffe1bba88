"""One network namespace per host, each cabled (veth) into one bridge in the root namespace.

What crosses between two hosts really crosses a network: its own addresses, its own loopback,
its own ports, and a cable that can be pulled (``pull_cable``) to cut a host off.
Every step is idempotent, so ``up`` and ``down`` are safe to run twice.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from topology import Host, Topology

NETNS_ETC = Path("/etc/netns")


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=check, capture_output=True, text=True)


def _exists(kind: str, name: str) -> bool:
    if kind == "netns":
        return name in run("ip", "netns", "list").stdout.split()
    return run("ip", "link", "show", name, check=False).returncode == 0


def up(topology: Topology) -> None:
    if not _exists("link", topology.bridge):
        run("ip", "link", "add", topology.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{topology.gateway}/24", "dev", topology.bridge)
    run("ip", "link", "set", topology.bridge, "up")
    # Bridged frames pass the host's iptables when br_netfilter is loaded: let ours through.
    if (
        shutil.which("iptables")
        and run("iptables", "-C", *_forward(topology), check=False).returncode
    ):
        run("iptables", "-I", *_forward(topology), check=False)
    hosts_file = topology.hosts_file()
    for host in topology.hosts:
        _host_up(topology, host, hosts_file)


def _host_up(topology: Topology, host: Host, hosts_file: str) -> None:
    host.root.mkdir(parents=True, exist_ok=True)
    etc = NETNS_ETC / host.name
    etc.mkdir(parents=True, exist_ok=True)
    # `ip netns exec` bind-mounts these over /etc: inside, every host resolves by name.
    (etc / "hosts").write_text(hosts_file)
    (etc / "hostname").write_text(host.name + "\n")
    # The machine's name server is out of the namespaces' reach: a lookup of any name not in
    # the hosts file (an IPv6 address, a reverse lookup) would wait out its timeout, 10 s and
    # more, inside every AMQP and SSH login. A local one that nobody serves fails at once.
    (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    if not _exists("netns", host.name):
        run("ip", "netns", "add", host.name)
    if not _exists("link", host.veth):
        run(
            "ip",
            "link",
            "add",
            host.veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            host.name,
        )
        run("ip", "-n", host.name, "addr", "add", f"{host.address}/24", "dev", "eth0")
    run("ip", "link", "set", host.veth, "master", topology.bridge, "up")
    run("ip", "-n", host.name, "link", "set", "lo", "up")
    run("ip", "-n", host.name, "link", "set", "eth0", "up")
    run("ip", "-n", host.name, "route", "replace", "default", "via", topology.gateway)


def pull_cable(host: Host) -> None:
    """Cut the host off the network (its processes keep running)."""
    run("ip", "link", "set", host.veth, "down")


def plug_cable(host: Host) -> None:
    run("ip", "link", "set", host.veth, "up")


def pids(host: Host) -> list[int]:
    """Every process running in the host's namespace."""
    if not _exists("netns", host.name):
        return []
    return [int(pid) for pid in run("ip", "netns", "pids", host.name).stdout.split()]


def down(topology: Topology) -> None:
    """Remove every namespace, cable and the bridge (processes must be gone first)."""
    for host in topology.hosts:
        if _exists("netns", host.name):
            run("ip", "netns", "delete", host.name)
        # Deleting the namespace takes its end of the cable, and the kernel the other end
        # (shortly after): a cable gone meanwhile is fine.
        if _exists("link", host.veth):
            run("ip", "link", "delete", host.veth, check=False)
        for name in ("hosts", "hostname", "resolv.conf"):
            (NETNS_ETC / host.name / name).unlink(missing_ok=True)
        if (NETNS_ETC / host.name).exists():
            (NETNS_ETC / host.name).rmdir()
    bridge_empty = not run(
        "ip", "link", "show", "master", topology.bridge, check=False
    ).stdout.strip()
    if _exists("link", topology.bridge) and bridge_empty:
        run("ip", "link", "delete", topology.bridge)
        if shutil.which("iptables"):
            run("iptables", "-D", *_forward(topology), check=False)


def _forward(topology: Topology) -> list[str]:
    return ["FORWARD", "-i", topology.bridge, "-o", topology.bridge, "-j", "ACCEPT"]
