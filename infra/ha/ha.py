"""The HA test topology's command line (``make ha-up`` / ``make ha-down`` grow from here).

    python infra/ha/ha.py net-up   [--prefix ha- --subnet 10.77.0 --bridge loomha0 --only mq1,mq2]
    python infra/ha/ha.py net-down [same options]

``net-up`` makes the namespaces, cables, /etc/netns hosts files and an sshd per host;
``net-down`` kills every process in those namespaces and removes them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import network
import ssh
from topology import REPO_ROOT, Topology


def topology_from(arguments: argparse.Namespace) -> Topology:
    only = tuple(name for name in arguments.only.split(",") if name) if arguments.only else ()
    var = (
        REPO_ROOT
        / "var"
        / ("ha" if arguments.prefix == "ha-" else f"ha-{arguments.prefix.rstrip('-')}")
    )
    return Topology(
        prefix=arguments.prefix,
        subnet=arguments.subnet,
        bridge=arguments.bridge,
        var=var,
        only=only,
    )


def net_up(topology: Topology) -> None:
    print(f"ha: network {topology.bridge} {topology.gateway}/24", flush=True)
    network.up(topology)
    print(f"ha: sshd on {len(topology.hosts)} hosts", flush=True)
    ssh.up(topology)
    for host in topology.hosts:
        print(f"ha:   {host.name:<12} {host.address:<12} {','.join(host.roles)}", flush=True)


def net_down(topology: Topology) -> None:
    for host in topology.hosts:
        ssh.kill_everything(network.pids(host))
    time.sleep(0.2)
    network.down(topology)
    print(f"ha: removed {len(topology.hosts)} hosts", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["net-up", "net-down"])
    parser.add_argument("--prefix", default="ha-")
    parser.add_argument("--subnet", default="10.77.0")
    parser.add_argument("--bridge", default="loomha0")
    parser.add_argument("--only", default="", help="comma-separated short names (mq1,pg1,...)")
    arguments = parser.parse_args()
    topology = topology_from(arguments)
    {"net-up": net_up, "net-down": net_down}[arguments.command](topology)


if __name__ == "__main__":
    main()
