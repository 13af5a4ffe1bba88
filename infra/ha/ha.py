"""The HA test topology's command line: ``make ha-up`` / ``make ha-down``.

    python infra/ha/ha.py up     [--prefix ha- --subnet 10.77.0 --bridge loomha0]
    python infra/ha/ha.py down   [same options]
    python infra/ha/ha.py net-up | net-down [same options, --only mq1,mq2]

``up`` builds the topology from nothing and deploys the current commit to it: network and an
sshd per host, the generated inventory and settings, site.yml over SSH, a release of each
service, deploy.yml for each (services in parallel, each host by host), then waits until every
entry URL is ready through the load balancer and writes ``topology.json``.
``down`` kills every process in the namespaces and removes them, the bridge and the var folder.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inventory
import network
import ssh
from topology import REPO_ROOT, Topology

ANSIBLE_DIR = REPO_ROOT / "infra" / "ansible"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"ha [{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def var_folder(prefix: str) -> Path:
    return REPO_ROOT / "var" / ("ha" if prefix == "ha-" else f"ha-{prefix.rstrip('-')}")


def topology_from(arguments: argparse.Namespace) -> Topology:
    only = tuple(name for name in arguments.only.split(",") if name) if arguments.only else ()
    return Topology(
        prefix=arguments.prefix,
        subnet=arguments.subnet,
        bridge=arguments.bridge,
        var=var_folder(arguments.prefix),
        only=only,
    )


def ansible_environment(topology: Topology) -> dict[str, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"))
    env.update(
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_FORKS="20",
        ANSIBLE_PIPELINING="True",
        ANSIBLE_LOCAL_TEMP=str(topology.var / "ansible-tmp"),
        ANSIBLE_SSH_RETRIES="3",
        ANSIBLE_TIMEOUT="30",
        # No role reads facts: skip gathering them (a Python run per host per play).
        ANSIBLE_GATHERING="explicit",
    )
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_logged(name: str, command: list[str], topology: Topology) -> None:
    """Run a step, its output in var/.../logs/<name>.log; on failure show its tail and stop."""
    logs = topology.var / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    started = time.monotonic()
    with log.open("w") as output:
        result = subprocess.run(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
            env=ansible_environment(topology),
        )  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        raise SystemExit(f"ha: {name} failed (exit {result.returncode}); {log}:\n{tail}")
    say(f"  {name} done in {time.monotonic() - started:.0f}s")


def playbook(topology: Topology, path: Path, *args: str) -> list[str]:
    return [
        str(VENV_BIN / "ansible-playbook"), "-i", str(topology.var / "inventory.yml"), str(path), *args,
    ]  # fmt: skip


def in_parallel(steps: dict[str, list[str]], topology: Topology) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = [
            pool.submit(run_logged, name, command, topology) for name, command in steps.items()
        ]
        for future in futures:
            future.result()


def net_up(topology: Topology) -> None:
    say(
        f"network: bridge {topology.bridge} {topology.gateway}/24, {len(topology.hosts)} namespaces"
    )
    network.up(topology)
    say(f"sshd on each of {len(topology.hosts)} hosts")
    ssh.up(topology)
    for host in topology.hosts:
        say(f"  {host.name:<14} {host.address:<13} {','.join(host.roles)}")


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(topology: Topology, timeout: float = 120) -> None:
    urls = {service: url + "/readyz" for service, url in inventory.entry_urls(topology).items()}
    deadline = time.monotonic() + timeout
    waiting = dict(urls)
    while waiting:
        waiting = {service: url for service, url in waiting.items() if not ready(url)}
        if waiting and time.monotonic() > deadline:
            raise SystemExit(
                f"ha: not ready through the load balancer: {', '.join(waiting.values())}"
            )
        if waiting:
            time.sleep(1)


def process_list(pids: list[int]) -> list[dict[str, object]]:
    processes = []
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        processes.append(
            {"pid": pid, "command": raw.replace(b"\0", b" ").decode(errors="replace").strip()}
        )
    return processes


def describe(topology: Topology) -> dict[str, object]:
    values = inventory.load_secrets(topology)
    urls = inventory.database_urls(topology, values)
    return {
        "prefix": topology.prefix,
        "subnet": topology.subnet,
        "bridge": topology.bridge,
        "var": str(topology.var),
        "ssh_key": str(ssh.client_key(topology)),
        "inventory": str(topology.var / "inventory.yml"),
        "hosts": [
            {
                "name": host.name,
                "namespace": host.name,
                "address": host.address,
                "roles": list(host.roles),
                "root": str(host.root),
                "veth": host.veth,
                "processes": process_list(network.pids(host)),
            }
            for host in topology.hosts
        ],
        "entry_urls": inventory.entry_urls(topology),
        "gelf_tcp": f"{topology.with_role('loadbalancer')[0].address}:{inventory.GELF_PORT}",
        "broker_url": inventory.broker_url(topology, values["BROKER_PASSWORD"]),
        "database_urls": {service: urls[service] for service in inventory.SERVICES},
    }


def up(topology: Topology) -> None:
    net_up(topology)
    inventory_path, settings_path = inventory.write(topology)
    say(
        f"inventory {inventory_path.relative_to(REPO_ROOT)}, settings {settings_path.relative_to(REPO_ROOT)}"
    )
    artifacts = topology.var / "dist"
    say("site.yml over SSH (RabbitMQ cluster, etcd, Patroni, Redis, service hosts, load balancer)"
        " and a release of each service, side by side")  # fmt: skip
    steps = {"site": playbook(topology, ANSIBLE_DIR / "site.yml")}
    for service in inventory.SERVICES:
        steps[f"release-{service}"] = [
            "make", "--no-print-directory", "release", f"SERVICE={service}", f"ARTIFACTS={artifacts}",
        ]  # fmt: skip
    in_parallel(steps, topology)
    say("deploy.yml for each service (in parallel; each one host by host)")
    in_parallel(
        {
            f"deploy-{service}": [
                "make",
                "--no-print-directory",
                "deploy",
                f"SERVICE={service}",
                f"INVENTORY={topology.var / 'inventory.yml'}",
                f"ARTIFACTS={artifacts}",
            ]
            for service in inventory.SERVICES
        },
        topology,
    )
    say("waiting until every entry URL answers /readyz through the load balancer")
    wait_ready(topology)
    description = describe(topology)
    path = topology.var / "topology.json"
    path.write_text(json.dumps(description, indent=2) + "\n")
    say(f"wrote {path.relative_to(REPO_ROOT)}")
    for service, url in description["entry_urls"].items():  # type: ignore[attr-defined]
        say(f"  {service:<7} {url}")
    say(f"  gelf    tcp://{description['gelf_tcp']}")
    say("up")


def kill_all(topology: Topology) -> None:
    """SIGKILL everything in the namespaces, until nothing is left (supervisord restarts)."""
    for _ in range(20):
        pids = [pid for host in topology.hosts for pid in network.pids(host)]
        if not pids:
            return
        ssh.kill_everything(pids)
        time.sleep(0.3)


def down(topology: Topology) -> None:
    kill_all(topology)
    say(f"killed the processes of {len(topology.hosts)} hosts")
    network.down(topology)
    say(f"removed the namespaces and {topology.bridge}")
    if topology.var.exists():
        shutil.rmtree(topology.var)
        say(f"removed {topology.var.relative_to(REPO_ROOT)}")


def net_down(topology: Topology) -> None:
    kill_all(topology)
    network.down(topology)
    say(f"removed {len(topology.hosts)} hosts")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "down", "net-up", "net-down"])
    parser.add_argument("--prefix", default="ha-")
    parser.add_argument("--subnet", default="10.77.0")
    parser.add_argument("--bridge", default="loomha0")
    parser.add_argument("--only", default="", help="comma-separated short names (mq1,pg1,...)")
    arguments = parser.parse_args()
    topology = topology_from(arguments)
    commands = {"up": up, "down": down, "net-up": net_up, "net-down": net_down}
    commands[arguments.command](topology)


if __name__ == "__main__":
    main()
