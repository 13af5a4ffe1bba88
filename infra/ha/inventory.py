"""What Ansible and the services are given for a topology: its inventory and its settings.env.

The inventory has the production inventory's groups (plus ``etcd`` and ``loadbalancer``),
every host reached over SSH at its own address, and every path of the roles under the host's
own root folder (``loom_host_root``). The settings are staging's shape pointed at the
topology's hosts. Secrets are made once per topology and kept in ``secrets.json`` (0600).
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
from pathlib import Path

import ssh
from topology import REPO_ROOT, Topology

SERVICES = ("web", "worker", "errors", "logs")
# Each service's nginx port on its hosts, which is also its port on the load balancer.
PUBLIC_PORTS = {"web": 8000, "worker": 8001, "errors": 8002, "logs": 8003}
# The two slots' HTTP processes listen on the host's loopback, away from nginx's ports.
SLOT_PORTS = {service: [port + 1000, port + 1100] for service, port in PUBLIC_PORTS.items()}
GELF_PORT = 12201
SECRET_NAMES = (
    "LOOM_SECRET_KEY", "LOOM_API_TOKEN", "BROKER_PASSWORD", "WEB_DB_PASSWORD",
    "WORKER_DB_PASSWORD", "ERRORS_DB_PASSWORD", "LOGS_DB_PASSWORD", "REDIS_PASSWORD",
    "SMTP_PASSWORD",
)  # fmt: skip
# Secrets of the infrastructure itself: never in a service's settings.
INFRA_SECRET_NAMES = (
    "ERLANG_COOKIE",
    "POSTGRES_SUPERUSER_PASSWORD",
    "POSTGRES_REPLICATION_PASSWORD",
)
# Groups the hosts' roles name, in the production inventory's order.
GROUPS = (
    "web",
    "worker",
    "errors",
    "logs",
    "rabbitmq",
    "postgresql",
    "etcd",
    "redis",
    "loadbalancer",
)


def load_secrets(topology: Topology) -> dict[str, str]:
    path = topology.var / "secrets.json"
    values: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in (*SECRET_NAMES, *INFRA_SECRET_NAMES) if name not in values]
    if not missing:
        return values
    values.update({name: secrets.token_hex(32) for name in missing})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(values, indent=2))
    return values


def entry_urls(topology: Topology) -> dict[str, str]:
    balancer = topology.with_role("loadbalancer")[0]
    return {service: f"http://{balancer.address}:{port}" for service, port in PUBLIC_PORTS.items()}


def broker_url(topology: Topology, password: str) -> str:
    """Every RabbitMQ node, ``;``-separated: publishers and consumers move to a live one."""
    return ";".join(
        f"amqp://loom:{password}@{host.address}:5672/loom"
        for host in topology.with_role("rabbitmq")
    )


def database_urls(topology: Topology, passwords: dict[str, str]) -> dict[str, str]:
    """Multi-host libpq URLs: libpq tries each host and keeps the one that takes writes
    (``read-write``) or a standby when one answers (``prefer-standby``, for reads).

    One ``host=address:port`` per host, no commas: replica URLs are a comma-separated list,
    and SQLAlchemy's psycopg dialect joins repeated ``host`` into libpq's ``host=a,b``."""
    hosts = "&".join(f"host={host.address}:5432" for host in topology.with_role("postgresql"))
    urls = {}
    for service in SERVICES:
        base = (
            f"postgresql+psycopg://loom_{service}:{passwords[service.upper() + '_DB_PASSWORD']}"
            f"@/loom_{service}?{hosts}"
        )
        urls[service] = base + "&target_session_attrs=read-write"
        urls[f"{service}_replicas"] = base + "&target_session_attrs=prefer-standby"
    return urls


def settings(topology: Topology, values: dict[str, str]) -> dict[str, str]:
    """settings.env: staging's keys, with ``${NAME}`` secrets the deploy fills in per service."""
    cache = topology.with_role("redis")[0]
    urls = database_urls(
        topology, {name: f"${{{name}}}" for name in SECRET_NAMES if name.endswith("DB_PASSWORD")}
    )
    lines = {
        "LOOM_ENV": "staging",
        "LOOM_HOST": "127.0.0.1",
        # HAProxy, then the host's nginx, each add one X-Forwarded-For hop.
        "LOOM_TRUSTED_PROXIES": "2",
        "LOOM_SECRET_KEY": "${LOOM_SECRET_KEY}",
        "LOOM_API_TOKEN": "${LOOM_API_TOKEN}",
        "LOOM_BROKER_URL": broker_url(topology, "${BROKER_PASSWORD}"),
        "LOOM_QUEUE_TYPE": "quorum",
        "LOOM_CACHE_URL": f"redis://:${{REDIS_PASSWORD}}@{cache.address}:6379/0",
        # No SMTP relay in the topology: alert emails fail and are counted as failed.
        "LOOM_SMTP_URL": f"smtp://{topology.gateway}:2525",
        "LOOM_SMTP_FROM": "Loom HA <loom@ha.loom.example>",
        "LOOM_HTTP_WORKERS": "2",
        "LOOM_HTTP_THREADS": "4",
        "LOOM_LOG_LEVEL": "INFO",
        "LOOM_LOG_FORMAT": "json",
        # The errors service keeps the latest 100 events of an issue by default; the fault tests
        # count every event of their run's one issue, so the topology keeps them all.
        "LOOM_ERRORS_EVENTS_PER_ISSUE": "100000",
        # GELF from other hosts reaches the logs hosts through the load balancer.
        "LOOM_LOGS_GELF_HOST": "0.0.0.0",
        "LOOM_LOGS_GELF_PORT": str(GELF_PORT),
    }
    for service in SERVICES:
        lines[f"LOOM_{service.upper()}_DATABASE_URL"] = urls[service]
        lines[f"LOOM_{service.upper()}_DATABASE_REPLICA_URLS"] = urls[f"{service}_replicas"]
    for service, url in entry_urls(topology).items():
        lines[f"LOOM_{service.upper()}_URL"] = url
    return lines


def _base_tool(name: str) -> str | None:
    """A tool of the interpreter the repository's virtualenv was made from (pyenv's shims
    are scripts that need the controller's environment, which an SSH session has not)."""
    beside = Path(sys.base_prefix) / "bin" / name
    return str(beside) if beside.exists() else shutil.which(name)


def host_vars(topology: Topology, host_root: Path, address: str) -> dict[str, object]:
    uv = _base_tool("uv")
    return {
        "ansible_host": address,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(ssh.client_key(topology)),
        "ansible_ssh_common_args": ssh.ansible_ssh_args(topology),
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_remote_tmp": str(host_root / "tmp" / "ansible"),
        "loom_host_root": str(host_root),
        "loom_systemd": False,
        # The machine's packages are shared by every host: the harness installs none.
        "loom_install_packages": False,
        "loom_manage_user": False,
        # The lock's markers are resolved for the controller's Python (3.11.7 here; Debian's
        # 3.11.2 would want wheels the artifact does not hold).
        "loom_python": _base_tool("python3") or "/usr/bin/python3",
        "loom_installer": "uv" if uv else "pip",
        "loom_uv": uv or "uv",
        # supervisord from the repository's virtualenv (the machine has no supervisor package).
        "supervisor_bin_dir": str(REPO_ROOT / ".venv" / "bin"),
        "nginx_user": "root",
        "nginx_worker_processes": 1,
        "redis_bind": address,
        "loadbalancer_bind": address,
    }


def inventory(topology: Topology, values: dict[str, str]) -> dict[str, object]:
    hosts = {host.name: host_vars(topology, host.root, host.address) for host in topology.hosts}
    children: dict[str, object] = {
        group: {"hosts": {host.name: None for host in topology.with_role(group)}}
        for group in GROUPS
    }
    children["nginx"] = {"children": {service: None for service in SERVICES}}
    common = {
        "loom_environment": "ha",
        "loom_settings_file": str(topology.var / "settings.env"),
        "loom_secrets": {name: values[name] for name in SECRET_NAMES},
        "rabbitmq_erlang_cookie": values["ERLANG_COOKIE"],
        "postgresql_superuser_password": values["POSTGRES_SUPERUSER_PASSWORD"],
        "postgresql_replication_password": values["POSTGRES_REPLICATION_PASSWORD"],
        "loom_slot_ports": SLOT_PORTS,
        "loom_public": {
            service: {"server_name": "_", "port": port} for service, port in PUBLIC_PORTS.items()
        },
        "loom_tls": False,
        "loom_ready_timeout": 90,
        "loom_consumer_stop_seconds": 30,
        "rabbitmq_vhost": "loom",
        "rabbitmq_user": "loom",
        "postgresql_databases": [f"loom_{service}" for service in SERVICES],
        "loadbalancer_services": PUBLIC_PORTS,
        "loadbalancer_gelf_port": GELF_PORT,
    }
    return {"all": {"hosts": hosts, "vars": common, "children": children}}


def write(topology: Topology) -> tuple[Path, Path]:
    """var/.../inventory.yml and settings.env (both 0600: the inventory holds the secrets)."""
    values = load_secrets(topology)
    inventory_path = topology.var / "inventory.yml"
    settings_path = topology.var / "settings.env"
    for path, text in (
        (inventory_path, json.dumps(inventory(topology, values), indent=2) + "\n"),  # JSON is YAML
        (
            settings_path,
            "".join(f"{key}={value}\n" for key, value in settings(topology, values).items()),
        ),
    ):
        path.touch(mode=0o600)
        path.write_text(text)
    return inventory_path, settings_path
