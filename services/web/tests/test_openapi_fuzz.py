"""The web API fuzzed from its own OpenAPI document (schemathesis): no 5xx, auth enforced,
answers as documented."""

from __future__ import annotations

from flask import Flask

from loom_common.api_fuzzing import fuzz_openapi


def test_the_api_holds_up_under_fuzzing(app: Flask, operator_headers: dict[str, str]) -> None:
    failures = fuzz_openapi(app, operator_headers)
    assert not failures, "\n\n".join(failures)
