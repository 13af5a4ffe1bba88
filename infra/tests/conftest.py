"""Session fixtures of the deploy tests: the artifacts are built once, the local host is
set up once, and every test deploys onto it (the tests run in file order)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from local_stage import REPO_ROOT, LocalStage

from loom_common.testing import temporary_postgres_database, temporary_vhost

# (service, version): web three times, for the upgrade and the broken release.
RELEASES = [
    ("web", "1.0.0"),
    ("worker", "1.0.0"),
    ("errors", "1.0.0"),
    ("logs", "1.0.0"),
    ("web", "2.0.0"),
    ("web", "3.0.0"),
]


def build_release(service: str, version: str, out_dir: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "release", f"SERVICE={service}", f"VERSION={version}",
         f"ARTIFACTS={out_dir}", f"PYTHON={sys.executable}",
         f"COMMIT={os.environ.get('LOOM_INFRA_COMMIT', 'HEAD')}"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="session")
def workspace() -> Iterator[Path]:
    """A private folder: pytest's shared numbered folders are pruned by other test runs."""
    root = Path(tempfile.mkdtemp(prefix="loom-infra-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def artifacts(workspace: Path) -> Path:
    # LOOM_INFRA_ARTIFACTS: a folder that already holds these artifacts (while iterating).
    given = os.environ.get("LOOM_INFRA_ARTIFACTS")
    if given:
        return Path(given)
    out_dir = workspace / "dist"
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(build_release, s, v, out_dir) for s, v in RELEASES]:
            future.result()
    return out_dir


@pytest.fixture(scope="session")
def stage(workspace: Path, artifacts: Path) -> Iterator[LocalStage]:
    with temporary_vhost() as broker_url, temporary_postgres_database() as web_database_url:
        local = LocalStage(
            root=workspace / "host",
            broker_url=broker_url,
            web_database_url=web_database_url,
            artifacts=artifacts,
        )
        local.prepare()
        try:
            local.set_up_host()
            yield local
        finally:
            local.tear_down()
