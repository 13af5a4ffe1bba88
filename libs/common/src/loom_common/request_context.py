"""The request id of the work in progress, shared by Flask requests, actors and log records."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("loom_request_id", default=None)

# A caller may pass its own id; anything else is replaced so that logs stay clean.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    return os.urandom(16).hex()  # as unique as a uuid4, without building one


def accept_request_id(candidate: str | None) -> str:
    """Keep a well-formed incoming id, else make a new one."""
    if candidate and _VALID_REQUEST_ID.match(candidate):
        return candidate
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()
