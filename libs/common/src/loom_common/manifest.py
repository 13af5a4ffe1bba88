"""Each service's ``service.toml``: what it runs, on which port, how it is checked.

The one declaration read by ``make up`` (infra/dev/up.py), by the integration tests and by
deploys, so the processes of a service are declared once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]


@dataclass(frozen=True)
class Process:
    service: str
    kind: str  # "http", "consumer", ...
    command: str

    @property
    def name(self) -> str:
        return f"{self.service}-{self.kind}"


@dataclass(frozen=True)
class ServiceManifest:
    name: str
    port_env: str
    health: str
    migrations: bool
    processes: list[Process] = field(default_factory=list)

    def environment(self, metrics_dir: Path) -> dict[str, str]:
        """What every process of this service needs in its environment."""
        return {"LOOM_SERVICE": self.name, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir / self.name)}


def load_manifest(path: Path) -> ServiceManifest:
    data = tomllib.loads(path.read_text())
    name = data["name"]
    return ServiceManifest(
        name=name,
        port_env=data["port_env"],
        health=data.get("health", "/readyz"),
        migrations=bool(data.get("migrations", False)),
        processes=[Process(name, kind, command) for kind, command in data["processes"].items()],
    )


def load_manifests(root: Path = REPO_ROOT) -> list[ServiceManifest]:
    return [load_manifest(path) for path in sorted((root / "services").glob("*/service.toml"))]
