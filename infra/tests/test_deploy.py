"""The deploys of issue 6 on one local host, through real nginx, supervisord, RabbitMQ and
PostgreSQL. The tests build on each other in file order, like a team's week of deploys:
1.0.0 everywhere, web 2.0.0 under load, a broken web 3.0.0, a redeploy of web, a rollback
of web, and a deploy of the worker in the middle of its jobs."""

from __future__ import annotations

import json

import pytest
from load import steady_load
from local_stage import API_TOKEN, SERVICES, LocalStage, process_environment

from loom_common.broker import send, setup_broker
from loom_common.contracts import JOBS_QUEUE
from loom_common.manifest import load_manifests
from loom_common.settings import load_settings
from loom_common.testing import wait_until

# Any one of these failing leaves the later ones meaningless.
pytestmark = pytest.mark.usefixtures("stage")


def deployed(stage: LocalStage, service: str, *variables: str) -> str:
    result = stage.make("deploy", f"SERVICE={service}", *variables)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def serving_release(stage: LocalStage, service: str) -> str:
    """The LOOM_RELEASE of the process that serves ``service`` now (from its environment)."""
    slot = stage.state(service)["slot"]
    pid = stage.process_ids()[f"loom-{service}-{slot}-http"]
    return process_environment(pid)["LOOM_RELEASE"]


def test_deploying_all_four_services_makes_each_ready_through_nginx(stage: LocalStage) -> None:
    for service in SERVICES:
        output = deployed(stage, service, "VERSION=1.0.0")
        assert f"localhost: {service} 1.0.0 (slot blue" in output  # the closing report

    for service in SERVICES:
        response = stage.get(service, "/readyz")
        assert response.status_code == 200, (service, response.text)
        assert response.json()["status"] == "ready"
        assert response.headers["X-Loom-Release"] == "1.0.0"
        assert serving_release(stage, service) == "1.0.0"


def test_new_web_version_under_load_loses_no_request(stage: LocalStage) -> None:
    with steady_load(stage.url("web", "/healthz"), str(stage.certificate)) as load:
        wait_until(lambda: load.sent > 20, timeout=30, message="the load to start")
        output = deployed(stage, "web", "VERSION=2.0.0")
        sent_during_deploy = load.sent

    print(f"web 1.0.0 -> 2.0.0 under load: {load.sent} requests, {len(load.failures)} failed")
    assert load.failures == [], f"{len(load.failures)} of {load.sent} failed: {load.failures[:5]}"
    assert sent_during_deploy > 100
    assert load.releases["1.0.0"] > 0 and load.releases["2.0.0"] > 0  # it switched under load
    assert "localhost: web 2.0.0 (slot green" in output
    assert stage.get("web", "/readyz").headers["X-Loom-Release"] == "2.0.0"
    assert serving_release(stage, "web") == "2.0.0"
    assert "loom-web-blue-http" not in stage.process_ids()  # the old slot was stopped


def test_broken_release_fails_the_deploy_and_the_old_one_keeps_serving(stage: LocalStage) -> None:
    # 3.0.0 gets a broker it cannot reach, so its /readyz never answers 200.
    broken = {"loom_settings_overrides": {"LOOM_BROKER_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}}
    with steady_load(stage.url("web", "/healthz"), str(stage.certificate)) as load:
        wait_until(lambda: load.sent > 20, timeout=30, message="the load to start")
        result = stage.make(
            "deploy", "SERVICE=web", "VERSION=3.0.0", f"ANSIBLE_ARGS=-e '{json.dumps(broken)}'"
        )

    assert result.returncode != 0
    assert "web 3.0.0 never became ready" in result.stdout
    assert "broker is down" in result.stdout  # the reason, from its /readyz
    assert "web-green (2.0.0) still serves" in result.stdout
    print(f"broken web 3.0.0 under load: {load.sent} requests, {len(load.failures)} failed")
    assert load.failures == [], f"{len(load.failures)} of {load.sent} failed: {load.failures[:5]}"
    assert set(load.releases) == {"2.0.0"}
    assert serving_release(stage, "web") == "2.0.0"
    assert "loom-web-blue-http" not in stage.process_ids()  # the broken one was stopped
    assert not (stage.root / "srv" / "web" / "deploy.lock").exists()


def test_deploying_web_leaves_the_other_services_processes_alone(stage: LocalStage) -> None:
    before = stage.process_ids()
    others = {name: pid for name, pid in before.items() if not name.startswith("loom-web-")}
    # every process that worker, errors and logs declare in their service.toml
    declared = sum(len(m.processes) for m in load_manifests() if m.name != "web")
    assert len(others) == declared

    deployed(stage, "web", "VERSION=2.0.0")

    after = stage.process_ids()
    assert {name: after.get(name) for name in others} == others
    assert after["loom-web-blue-http"] != before["loom-web-green-http"]


def test_a_second_deploy_of_the_same_service_is_refused(stage: LocalStage) -> None:
    lock = stage.root / "srv" / "web" / "deploy.lock"
    lock.mkdir()
    (lock / "owner").write_text("deploy of 9.9.9 by ada@laptop\n")
    serving = stage.process_ids()["loom-web-blue-http"]
    try:
        result = stage.make("deploy", "SERVICE=web", "VERSION=1.0.0")
    finally:
        (lock / "owner").unlink()
        lock.rmdir()

    assert result.returncode != 0
    assert "another deploy of web holds" in result.stdout
    assert "deploy of 9.9.9 by ada@laptop" in result.stdout
    assert stage.process_ids()["loom-web-blue-http"] == serving  # nothing was touched


def test_rollback_brings_back_the_previous_release(stage: LocalStage) -> None:
    assert serving_release(stage, "web") == "2.0.0"

    result = stage.make("rollback", "SERVICE=web")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "localhost: web 1.0.0" in result.stdout
    assert stage.get("web", "/readyz").headers["X-Loom-Release"] == "1.0.0"
    assert serving_release(stage, "web") == "1.0.0"


def test_deploying_the_worker_in_the_middle_of_its_jobs_loses_none(stage: LocalStage) -> None:
    setup_broker(load_settings("web", broker_url=stage.broker_url))
    sent = {send(JOBS_QUEUE, "greet", name=f"guest {n}").message_id for n in range(3000)}

    deployed(stage, "worker", "VERSION=1.0.0")  # the same release again, on the other slot

    def succeeded() -> set[str]:
        ids, cursor = set(), None
        while True:
            params = {"status": "succeeded", "actor": "greet", "limit": 500}
            page = stage.get(
                "worker", "/api/jobs", params=params | ({"cursor": cursor} if cursor else {}),
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            ).json()  # fmt: skip
            ids |= {job["id"] for job in page["items"]}
            cursor = page["next_cursor"]
            if cursor is None:
                return ids

    wait_until(lambda: sent <= succeeded(), timeout=120, interval=2, message="every job to succeed")
    assert serving_release(stage, "worker") == "1.0.0"
    assert stage.state("worker")["slot"] == "green"
