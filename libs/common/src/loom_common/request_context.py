"""The request id of the work in progress, shared by Flask requests, actors and log records."""

from __future__ import annotations

import itertools
import os
import re
from contextvars import ContextVar

from loom_common.process import current_pid

request_id_var: ContextVar[str | None] = ContextVar("loom_request_id", default=None)

# A caller may pass its own id; anything else is replaced so that logs stay clean.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


# A random per-process prefix and a counter: unique across processes and hosts like a uuid4,
# without a getrandom() system call on every request. Reset in a forked child.
_id_state: dict[str, object] = {"pid": None}


def new_request_id() -> str:
    if _id_state["pid"] != current_pid():
        _id_state.update(pid=current_pid(), prefix=os.urandom(10).hex(), counter=itertools.count())
    return f"{_id_state['prefix']}{next(_id_state['counter']):012x}"  # type: ignore[call-overload]


def accept_request_id(candidate: str | None) -> str:
    """Keep a well-formed incoming id, else make a new one."""
    if candidate and _VALID_REQUEST_ID.match(candidate):
        return candidate
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()
