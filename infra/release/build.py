"""``make release SERVICE=web [VERSION=...]``: one versioned, self-contained artifact.

``dist/loom-<service>-<version>.tar.gz`` is built from one git commit (HEAD unless
``--commit``; uncommitted work never ships) and holds everything a server needs and nothing it
must build: the service's wheel, libs/common's wheel, every locked dependency as a wheel,
the service's ``service.toml`` and ``manifest.json`` (service, version, git commit, uv.lock
hash, creation time and the processes of service.toml, so a deploy reads them as JSON).
Staging and production deploy the same file; servers install it with
``pip install --no-index --find-links wheels``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("web", "worker", "errors", "logs")


def say(message: str) -> None:
    print(f"release: {message}", flush=True)


def run(*command: str | Path, cwd: Path = REPO_ROOT) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, check=True, capture_output=True, text=True
    )
    return result.stdout


def resolve_commit(revision: str) -> tuple[str, str]:
    """(full sha, short sha) of a git revision."""
    full = run("git", "rev-parse", "--verify", f"{revision}^{{commit}}").strip()
    return full, run("git", "rev-parse", "--short", full).strip()


def export_commit(full_sha: str, destination: Path) -> None:
    """The tree of one commit, without touching the checkout (uncommitted work stays out)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", full_sha], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tree:
        tree.extractall(destination, filter="data")


def service_version(source: Path, service: str, given: str | None, short_sha: str) -> str:
    if given:
        return given
    pyproject = tomllib.loads((source / "services" / service / "pyproject.toml").read_text())
    # A PEP 440 local version: the same commit always gets the same name.
    return f"{pyproject['project']['version']}+{short_sha}"


def locked_requirements(source: Path, service: str) -> str:
    return run(
        "uv",
        "export",
        "--package",
        f"loom-{service}",
        "--frozen",
        "--no-dev",
        "--no-emit-workspace",
        "--no-header",
        cwd=source,
    )


def pip_command() -> list[str]:
    """pip of this Python if it has one (a uv-made venv has none), else the system's python3."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    return ["python3", "-m", "pip"]


def build_wheels(source: Path, service: str, requirements: Path, wheels: Path) -> None:
    for package in (f"loom-{service}", "loom-common"):
        run("uv", "build", "--wheel", "--package", package, "--out-dir", wheels, cwd=source)
    # Binary wheels only, checked against the lock's hashes: the servers never compile.
    run(
        *pip_command(),
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary",
        ":all:",
        "--no-deps",
        "--require-hashes",
        "--dest",
        wheels,
        "-r",
        requirements,
    )


def build(service: str, revision: str, version: str | None, out_dir: Path) -> Path:
    full_sha, short_sha = resolve_commit(revision)
    with tempfile.TemporaryDirectory(prefix="loom-release-") as scratch:
        source = Path(scratch) / "source"
        export_commit(full_sha, source)
        version = service_version(source, service, version, short_sha)
        name = f"loom-{service}-{version}"
        root = Path(scratch) / name
        wheels = root / "wheels"
        wheels.mkdir(parents=True)
        requirements = root / "requirements.txt"
        requirements.write_text(locked_requirements(source, service))
        say(f"building {name} from {short_sha}: loom-{service}, loom-common, locked dependencies")
        build_wheels(source, service, requirements, wheels)
        service_toml = source / "services" / service / "service.toml"
        shutil.copy(service_toml, root / "service.toml")
        declaration = tomllib.loads(service_toml.read_text())
        manifest = {
            "service": service,
            "version": version,
            "git_commit": full_sha,
            "uv_lock_sha256": hashlib.sha256((source / "uv.lock").read_bytes()).hexdigest(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "platform": f"{sys.platform}-{platform.machine()}",
            # What the deploy runs, from service.toml, as JSON that Ansible reads directly.
            "processes": dict(declaration["processes"]),
            "health": declaration.get("health", "/readyz"),
            "migrations": bool(declaration.get("migrations", False)),
            "wheels": sorted(path.name for path in wheels.glob("*.whl")),
        }
        (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        out_dir.mkdir(parents=True, exist_ok=True)
        artifact = out_dir / f"{name}.tar.gz"
        partial = out_dir / f".{name}.tar.gz.partial"
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(root, arcname=name)
        partial.replace(artifact)  # never a half-written artifact under its real name
    say(f"{artifact} ({len(manifest['wheels'])} wheels)")
    return artifact


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--version", help="the version to name it (default <pyproject>+<sha>)")
    parser.add_argument("--commit", default="HEAD", help="the git revision to build (HEAD)")
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        artifact = build(args.service, args.commit, args.version or None, args.out_dir.resolve())
    except subprocess.CalledProcessError as error:
        sys.exit(f"release: {' '.join(map(str, error.cmd))} failed:\n{error.stderr}")
    print(artifact)


if __name__ == "__main__":
    main()
