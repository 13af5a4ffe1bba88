"""Polling for something that is not there yet: ``None`` until it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from loom_common.testing import wait_until

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | None], timeout: float, interval: float = 0.2, message: str = ""
) -> T:
    """:func:`wait_until`, typed for probes that answer ``None`` while they wait."""
    found = wait_until(probe, timeout=timeout, interval=interval, message=message)
    assert found is not None
    return found
