"""The five faults of issue 13, each under a steady load, on one topology for the session.

Each test starts the load (web jobs, error events, log records: a few a second each), waits
until it flows, breaks one piece, waits until the topology is whole again, lets the load run a
little longer, stops it and reconciles: every accepted job finished, every accepted event and log
record stored, none twice. Its figures go to ``var/ha-ht/fault-report.json`` and to the output
(``pytest -s``). Each test puts the topology back as it found it, so the next starts whole.

Jobs that ran twice (a worker died between running and acking) are counted as ``reruns``, not
duplicates: a job is one record per job id, and greet is a pure function, so a rerun changes
nothing a user sees.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import faults
import psycopg
import pytest
from live import LiveTopology
from load import Load, Report

RATE = 3.0  # requests per second, per kind
AFTER_WHOLE = 5.0  # seconds of load after the topology is whole, to see it serve again
CABLE_OUT = 30.0  # fault 2: how long the node is off the network


@pytest.fixture(scope="module")
def whole(topology: LiveTopology) -> LiveTopology:
    """The topology, every service ready through the load balancer before the first fault."""
    for service, url in topology.entry_urls.items():
        faults.wait_until(lambda url=url: faults.get(url + "/readyz").ok, 120, f"{service} ready")
    return topology


def cluster_whole(topology: LiveTopology) -> None:
    """Before a broker fault: every RabbitMQ node running, none partitioned."""
    faults.wait_until(lambda: faults.rabbitmq_whole(topology), 120, "RabbitMQ cluster whole")


def database_whole(topology: LiveTopology) -> None:
    """Before a database fault: a Patroni primary and every other member a streaming standby."""
    faults.wait_until(lambda: faults.patroni_primary(topology) is not None, 120, "a primary")
    for host in topology.with_role("postgresql"):
        if host.name != faults.patroni_primary(topology):
            faults.wait_until(
                lambda host=host: faults.patroni(topology, host.name, "replica"),
                120,
                f"{host.name} a streaming standby",
            )


@pytest.fixture
def load(whole: LiveTopology) -> Iterator[Load]:
    running = Load(faults.targets(whole), rate=RATE).start()
    running.wait_accepted(3)
    try:
        yield running
    finally:
        running.stop()


def finish(load: Load, fault_at: float) -> Report:
    time.sleep(AFTER_WHOLE)
    load.stop()
    return load.reconcile(timeout=90, fault_at=fault_at)


def assert_nothing_lost(report: Report) -> None:
    for name, kind in report.kinds.items():
        assert kind.lost == 0, (
            f"{name}: {kind.lost} accepted but never stored, e.g. {kind.lost_items}"
        )
        assert kind.duplicates == 0, f"{name}: {kind.duplicates} stored twice"
        assert kind.accepted > 0, f"{name}: nothing accepted at all"


def test_sigkill_one_rabbitmq_node(whole: LiveTopology, load: Load) -> None:
    # The first node of every client's broker list: the one they are connected to.
    cluster_whole(whole)
    node = whole.with_role("rabbitmq")[0].name
    fault_at = time.monotonic()
    killed = whole.kill(node)
    assert killed, f"nothing ran on {node}"
    load.wait_accepted(5, timeout=60)  # the load goes on through the two other nodes
    faults.restore(whole, node)
    healed = faults.wait_until(lambda: faults.rabbitmq_whole(whole), 120, "RabbitMQ cluster whole")
    report = finish(load, fault_at)
    faults.write_report(
        whole,
        "1-sigkill-rabbitmq-node",
        {"node": node, "cluster_whole_seconds": round(healed - fault_at, 1)},
        report,
    )
    assert_nothing_lost(report)


def test_cable_pulled_from_one_rabbitmq_node_heals_alone(whole: LiveTopology, load: Load) -> None:
    # After test 1 the clients moved on to the second node: cut that one.
    cluster_whole(whole)
    node = whole.with_role("rabbitmq")[1].name
    fault_at = time.monotonic()
    whole.pull_cable(node)
    try:
        time.sleep(CABLE_OUT)  # the fault itself lasts this long; the load runs meanwhile
    finally:
        whole.plug_cable(node)
    plugged = time.monotonic()
    # No operator: nothing is run on any node, the cluster must find itself whole.
    healed = faults.wait_until(lambda: faults.rabbitmq_whole(whole), 180, "RabbitMQ cluster healed")
    report = finish(load, fault_at)
    faults.write_report(
        whole,
        "2-cable-pulled-rabbitmq-node",
        {
            "node": node,
            "cable_out_seconds": CABLE_OUT,
            "healed_seconds_after_plug": round(healed - plugged, 1),
        },
        report,
    )
    assert_nothing_lost(report)


def test_sigkill_postgresql_primary(whole: LiveTopology, load: Load) -> None:
    database_whole(whole)
    old = faults.patroni_primary(whole)
    assert old is not None, "no Patroni primary before the fault"
    fault_at = time.monotonic()
    victims = faults.pids_of(whole, old, "patroni", "postgres")
    assert victims, f"no Patroni/postgres process on {old}"
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    promoted = faults.wait_until(
        lambda: faults.patroni_primary(whole) not in (None, old), 90, "the standby promoted"
    )
    new = faults.patroni_primary(whole)
    load.wait_accepted(5, timeout=60)  # writes resume (each job is a committed web write)
    faults.restore(whole, old)  # the postgresql role starts Patroni, which rejoins as standby
    rejoined = faults.wait_until(
        lambda: faults.patroni(whole, old, "replica"), 180, f"{old} streaming as a standby"
    )
    report = finish(load, fault_at)
    unwritten = acknowledged_greetings_missing(whole, load)
    faults.write_report(
        whole,
        "3-sigkill-postgresql-primary",
        {
            "old_primary": old,
            "new_primary": new,
            "promoted_seconds": round(promoted - fault_at, 1),
            "old_primary_standby_seconds": round(rejoined - fault_at, 1),
            "acknowledged_writes_missing": len(unwritten),
        },
        report,
    )
    assert new != old
    assert not unwritten, f"web answered 202 for these greetings but has no row: {unwritten[:5]}"
    assert_nothing_lost(report)


def acknowledged_greetings_missing(topology: LiveTopology, load: Load) -> list[str]:
    """Job ids web answered 202 for whose greeting_requests row is not in the (new) primary."""
    accepted = load.accepted_items("jobs")
    password = faults.secrets_of(topology)["WEB_DB_PASSWORD"]
    hosts = topology.with_role("postgresql")
    conninfo = (
        f"dbname=loom_web user=loom_web password={password} "
        f"host={','.join(h.address for h in hosts)} port={','.join('5432' for _ in hosts)} "
        "target_session_attrs=read-write connect_timeout=5"
    )
    with psycopg.connect(conninfo) as connection:
        rows = connection.execute(
            "SELECT job_id FROM greeting_requests WHERE job_id = ANY(%s)", (accepted,)
        ).fetchall()
    present = {row[0] for row in rows}
    return [job_id for job_id in accepted if job_id not in present]


def test_sigkill_one_web_host_and_one_worker_host(whole: LiveTopology, load: Load) -> None:
    web, worker = whole.with_role("web")[0].name, whole.with_role("worker")[0].name
    fault_at = time.monotonic()
    assert whole.kill(web) and whole.kill(worker)
    # Detection: HAProxy's health checks (1 s apart, out after 2 failures) take both out.
    detected = faults.wait_until(
        lambda: (
            faults.haproxy_status(whole, "loom_web", web).startswith("DOWN")
            and faults.haproxy_status(whole, "loom_worker", worker).startswith("DOWN")
        ),
        60,
        f"the load balancer takes {web} and {worker} out",
    )
    load.wait_accepted(10, timeout=60)  # the surviving hosts carry the whole load
    while_down = load.summary_so_far()
    faults.restore(whole, web, worker)
    back = faults.wait_until(
        lambda: (
            faults.haproxy_status(whole, "loom_web", web) == "UP"
            and faults.haproxy_status(whole, "loom_worker", worker) == "UP"
        ),
        180,
        f"{web} and {worker} back behind the load balancer",
    )
    report = finish(load, fault_at)
    late = [
        attempt
        for attempt in load.attempts
        if attempt.outcome != "accepted" and attempt.at > detected
    ]
    faults.write_report(
        whole,
        "4-sigkill-web-and-worker-host",
        {
            "hosts": [web, worker],
            "detection_seconds": round(detected - fault_at, 1),
            "failed_during_detection": report.failed_requests - len(late),
            "failed_after_detection": len(late),
            "hosts_back_seconds": round(back - fault_at, 1),
            "load_while_down": {kind: dict(tally) for kind, tally in while_down.items()},
        },
        report,
    )
    assert_nothing_lost(report)
    # Failures only while the load balancer still sent requests to the dead host; none after
    # (the restore included: a host comes back only once its checks pass).
    assert not late, f"failed after the dead hosts were taken out: {late[:5]}"


def test_rolling_deploy_of_web_under_load(whole: LiveTopology, load: Load) -> None:
    web_hosts = [host.name for host in whole.with_role("web")]
    before = {host: set(whole.pids(host)) for host in web_hosts}
    started = time.monotonic()
    faults.deploy(whole, "web")
    deployed = time.monotonic()
    after = {host: set(whole.pids(host)) for host in web_hosts}
    report = finish(load, started)
    faults.write_report(
        whole,
        "5-rolling-deploy-web",
        {"deploy_seconds": round(deployed - started, 1), "hosts": web_hosts},
        report,
    )
    for host in web_hosts:
        assert after[host] - before[host], f"the deploy started no new process on {host}"
    assert report.failed_requests == 0, report.summary()
    assert_nothing_lost(report)
