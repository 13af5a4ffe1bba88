"""This process's id, kept current across ``fork`` without a system call on every read
(hot paths check it to notice they run in a forked gunicorn worker)."""

from __future__ import annotations

import os

_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def current_pid() -> int:
    return _pid
