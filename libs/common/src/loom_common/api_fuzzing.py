"""Test helper: fuzz a Loom app's API from its own ``/openapi.json`` with schemathesis.

Every operation the document lists is called through the app's WSGI interface with cases
that follow the schema (positive) and cases that break it (negative). What must hold for
each, whatever was sent:

- no answer is a server error (5xx);
- an operation that declares bearer auth refuses a request without a valid token;
- a documented answer matches its documented schema (the house error body included).

One failing operation does not hide the others: all are run, and the failures are reported
together, each with the curl line that reproduces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth, response_schema_conformance

CHECKS = (not_a_server_error, ignored_auth, response_schema_conformance)
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def fuzz_openapi(
    app: Any,
    headers: Mapping[str, str],
    *,
    examples: int = 25,
    skip: Iterable[str] = (),
) -> list[str]:
    """Fuzz every operation of ``app``'s OpenAPI document; returns the failures found.

    ``headers`` go with every case (the operator token); ``skip`` names operations
    (``"POST /api/jobs"``) that must not be fuzzed, each with its reason at the call site.
    """
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    skipped = set(skip)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in skipped:
            continue
        for mode in MODES:
            failure = _fuzz_operation(operation, mode, dict(headers), examples)
            if failure:
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    return failures


def _fuzz_operation(
    operation: Any, mode: GenerationMode, headers: dict[str, str], examples: int
) -> str | None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,  # each run starts fresh: no example replayed from a local folder
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        call()
    except BaseExceptionGroup as failures:  # what schemathesis's checks found
        return str(failures)
    except Exception as error:  # raised out of the app: a server error too
        return f"Server error: unhandled {type(error).__name__}: {error}"
    return None
