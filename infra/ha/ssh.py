"""An sshd in every host's namespace, so that Ansible reaches each host as it would a server.

One key pair for the controller (root's login on every host) and one host key, all under
``var/ha/ssh``. Each sshd listens only on its host's address.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from topology import Host, Topology

SSHD = "/usr/sbin/sshd"


def key_folder(topology: Topology) -> Path:
    return topology.var / "ssh"


def client_key(topology: Topology) -> Path:
    return key_folder(topology) / "id_ed25519"


def _make_keys(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for name in ("id_ed25519", "ssh_host_ed25519_key"):
        if not (folder / name).exists():
            subprocess.run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    f"loom-ha-{name}",
                    "-f",
                    str(folder / name),
                ],
                check=True,
            )
    authorized = folder / "authorized_keys"
    authorized.write_text((folder / "id_ed25519.pub").read_text())
    authorized.chmod(0o600)


def _config(topology: Topology, host: Host) -> Path:
    folder = key_folder(topology)
    config = host.root / "sshd_config"
    config.write_text(
        "\n".join([
            f"ListenAddress {host.address}",
            "Port 22",
            f"HostKey {folder / 'ssh_host_ed25519_key'}",
            f"PidFile {host.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {folder / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # The checkout may be group-writable; the keys themselves are 0600.
            "StrictModes no",
            "MaxStartups 100:30:200",
            "Subsystem sftp internal-sftp",
            "",
        ])
    )  # fmt: skip
    return config


def _answers(address: str) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=0.5):
            return True
    except OSError:
        return False


def up(topology: Topology) -> None:
    _make_keys(key_folder(topology))
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder
    for host in topology.hosts:
        if _answers(host.address):
            continue
        config = _config(topology, host)
        subprocess.run(["ip", "netns", "exec", host.name, SSHD, "-f", str(config)], check=True)
    deadline = time.monotonic() + 15
    for host in topology.hosts:
        while not _answers(host.address):
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd of {host.name} does not answer on {host.address}:22")
            time.sleep(0.1)


def ssh_command(topology: Topology, host: Host, *command: str) -> list[str]:
    """``ssh root@<host> <command>`` with the topology's key and no host-key prompts."""
    return [
        "ssh", "-i", str(client_key(topology)), "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
        f"root@{host.address}", *command,
    ]  # fmt: skip


def ansible_ssh_args(topology: Topology) -> str:
    """One SSH connection per host, kept open between tasks and playbooks (ControlPersist)."""
    return (
        "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
        f" -o ControlMaster=auto -o ControlPersist=300s -o ControlPath={key_folder(topology)}/cm-%C"
    )


def kill_everything(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
