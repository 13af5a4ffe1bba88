"""Objects the worker's modules share: the API spec."""

from __future__ import annotations

from loom_common.openapi import make_spec

spec = make_spec("worker")
