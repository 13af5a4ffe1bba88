"""One HA topology for the whole session: ``ha.py up`` with the ``ht-`` prefix (10.76.0.0/24,
bridge ``htbr0``, folder ``var/ha-ht``) before the first test, ``ha.py down`` after the last.

Tests take the ``topology`` fixture (a :class:`live.LiveTopology`). ``LOOM_HA_KEEP=1`` leaves
the topology up after the session (to look at it; the next session reuses what is there).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HA_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HA_DIR))

from live import LiveTopology  # noqa: E402
from topology import REPO_ROOT  # noqa: E402

PREFIX, SUBNET, BRIDGE = "ht-", "10.76.0", "htbr0"
ARGS = ["--prefix", PREFIX, "--subnet", SUBNET, "--bridge", BRIDGE]


def _ha(command: str) -> None:
    # The repository's venv runs the harness: it holds Ansible and supervisord for the hosts.
    python = REPO_ROOT / ".venv" / "bin" / "python"
    subprocess.run([str(python), str(HA_DIR / "ha.py"), command, *ARGS], check=True, cwd=REPO_ROOT)


@pytest.fixture(scope="session")
def topology() -> Iterator[LiveTopology]:
    _ha("up")
    try:
        yield LiveTopology.load(REPO_ROOT / "var" / "ha-ht" / "topology.json")
    finally:
        if os.environ.get("LOOM_HA_KEEP") != "1":
            _ha("down")
