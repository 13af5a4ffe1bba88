"""The topology ha-up builds is the one the contract names: every host reachable over SSH and
resolving the others by name, every service ready through the load balancer, a three-node
RabbitMQ cluster, a Patroni leader with a streaming synchronous standby."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import requests
from live import LiveTopology


def test_every_entry_url_is_ready_through_the_load_balancer(topology: LiveTopology) -> None:
    assert set(topology.entry_urls) == {"web", "worker", "errors", "logs"}
    for service, url in topology.entry_urls.items():
        response = requests.get(url + "/readyz", timeout=10)
        assert response.status_code == 200, (service, response.status_code, response.text[:300])


def test_the_balancer_spreads_requests_over_both_hosts_of_a_service(topology: LiveTopology) -> None:
    # Each host's nginx logs what it served: after a burst through HAProxy, both logged some.
    web_hosts = topology.with_role("web")
    before = {host.name: _access_lines(topology, host.name) for host in web_hosts}
    for _ in range(10):
        assert requests.get(topology.entry_urls["web"] + "/healthz", timeout=10).status_code == 200
    for host in web_hosts:
        assert _access_lines(topology, host.name) > before[host.name], host.name


def _access_lines(topology: LiveTopology, host: str) -> int:
    log = topology.host(host).root / "var" / "log" / "nginx" / "access.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_every_host_answers_over_ssh_at_its_own_address_and_resolves_the_others(
    topology: LiveTopology,
) -> None:
    names = " ".join(host.name for host in topology.hosts)
    for host in topology.hosts:
        result = topology.run(host.name, f"ip -4 -o addr show eth0; getent hosts {names}")
        assert result.returncode == 0, (host.name, result.stderr)
        assert f"inet {host.address}/24" in result.stdout, (host.name, result.stdout)
        resolved = {
            line.split()[1]: line.split()[0] for line in result.stdout.splitlines()[1:] if line
        }
        assert resolved == {other.name: other.address for other in topology.hosts}, host.name


def test_topology_json_lists_every_host_with_live_processes(topology: LiveTopology) -> None:
    expected = {"rabbitmq", "postgresql", "etcd", "web", "worker", "errors", "logs",
                "loadbalancer", "redis"}  # fmt: skip
    assert {role for host in topology.hosts for role in host.roles} == expected
    for host in topology.hosts:
        running = topology.pids(host.name)
        # More than its sshd: what the host is for runs there.
        assert len(running) > 1, (host.name, running)
        for pid in running:
            os.kill(pid, 0)  # alive (raises if not)


def test_rabbitmq_runs_three_clustered_nodes(topology: LiveTopology) -> None:
    broker = urlsplit(topology.broker_url.split(";")[0])
    response = requests.get(
        f"http://{broker.hostname}:15672/api/nodes",
        auth=(broker.username or "", broker.password or ""),
        timeout=10,
    )
    assert response.status_code == 200, response.text[:300]
    running = sorted(node["name"] for node in response.json() if node.get("running"))
    assert running == sorted(f"rabbit@{host.name}" for host in topology.with_role("rabbitmq"))


def test_patroni_has_a_leader_and_a_streaming_synchronous_standby(topology: LiveTopology) -> None:
    host = topology.with_role("postgresql")[0]
    members = requests.get(f"http://{host.address}:8008/cluster", timeout=10).json()["members"]
    roles = {member["name"]: (member["role"], member["state"]) for member in members}
    assert sorted(role for role, _ in roles.values()) == ["leader", "sync_standby"], roles
    assert all(state in ("running", "streaming") for _, state in roles.values()), roles
