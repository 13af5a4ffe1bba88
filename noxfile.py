"""Every check of the repository: ``nox`` runs them all, ``nox -s test-web`` one.

Each service's tests run in a virtualenv holding only that service's locked dependencies
(``uv sync --package``), which proves it installs on its own.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = [
    "lint",
    "typecheck",
    "test-common",
    "test-web",
    "test-worker",
    "test-errors",
    "test-logs",
    "test-integration",
    "test-infra",
]

SERVICES = ("web", "worker", "errors", "logs")


def sync(session: nox.Session, *args: str) -> None:
    """Install exactly what uv.lock says into the session's virtualenv."""
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location, "UV_PYTHON_DOWNLOADS": "never"},
        silent=True,
    )


def pytest(session: nox.Session, path: str) -> None:
    session.run("pytest", path, "-p", "no:cacheprovider", *session.posargs)


@nox.session(name="test-common")
def test_common(session: nox.Session) -> None:
    sync(session, "--package", "loom-common", "--extra", "test", "--no-dev")
    pytest(session, "libs/common/tests")


def _service_session(service: str) -> None:
    @nox.session(name=f"test-{service}")
    def test_service(session: nox.Session) -> None:
        sync(session, "--package", f"loom-{service}", "--extra", "test", "--no-dev")
        pytest(session, f"services/{service}/tests")

    test_service.__doc__ = f"The {service} service's own tests, with only its dependencies."


for _service in SERVICES:
    _service_session(_service)


@nox.session(name="test-integration")
def test_integration(session: nox.Session) -> None:
    """All four services as real processes against the real RabbitMQ."""
    sync(session, "--all-packages", "--extra", "test", "--no-dev")
    pytest(session, "tests")


@nox.session(name="test-infra")
def test_infra(session: nox.Session) -> None:
    """Ansible syntax and lint, then real deploys onto this machine (needs nginx, uv, pip)."""
    sync(session, "--package", "loom-common", "--extra", "test", "--no-dev", "--group", "infra")
    env = {"ANSIBLE_CONFIG": "infra/ansible/ansible.cfg"}
    for playbook in ("infra/ansible/site.yml", "infra/ansible/deploy.yml"):
        session.run(
            "ansible-playbook", "--syntax-check", "-i", "infra/ansible/inventories/production",
            playbook, "-e", "service=web", env=env,
        )  # fmt: skip
    session.run("ansible-lint", "-c", "infra/ansible/.ansible-lint", "infra/ansible", env=env)
    pytest(session, "infra/tests")


@nox.session(name="test-ha")
def test_ha(session: nox.Session) -> None:
    """The HA topology (infra/ha): ha-up with the ht- prefix, the tests, ha-down (needs root).

    The harness itself runs from the repository's .venv (`make install`): Ansible drives the
    hosts, and the hosts' supervisord comes from there too."""
    session.run("make", "--no-print-directory", "install", external=True, silent=True)
    sync(session, "--package", "loom-common", "--extra", "test", "--no-dev")
    pytest(session, "infra/ha/tests")


@nox.session
def lint(session: nox.Session) -> None:
    sync(session, "--only-group", "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    sync(session, "--all-packages", "--group", "typecheck", "--no-dev")
    session.run("mypy", "libs/common/src", *(f"services/{s}/src" for s in SERVICES))


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, each printing its baseline, its figure and the ratio (web ones need wrk).

    ``nox -s bench`` runs them all; ``nox -s bench -- web_pages logs_query`` runs those.
    """
    sync(session, "--all-packages", "--all-extras", "--no-dev")
    names = session.posargs or [
        "web_overhead",
        "web_pages",
        "worker_throughput",
        "errors_ingest",
        "logs_ingest",
        "logs_query",
        "log_call_cost",
    ]
    for name in names:
        session.run("python", f"bench/{name.removesuffix('.py')}.py")
