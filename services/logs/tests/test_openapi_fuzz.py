"""The logs API (and its ingest endpoints) fuzzed from its own OpenAPI document
(schemathesis): no 5xx, auth enforced, answers as documented."""

from __future__ import annotations

from flask import Flask

from loom_common.api_fuzzing import fuzz_openapi

# An endless Server-Sent Events stream: a fuzzed call would never finish reading it.
# Its filters are the search's own model, fuzzed through GET /api/logs; test_tail covers it.
ENDLESS = ("GET /api/tail",)


def test_the_api_holds_up_under_fuzzing(app: Flask, operator_headers: dict[str, str]) -> None:
    failures = fuzz_openapi(app, operator_headers, skip=ENDLESS)
    assert not failures, "\n\n".join(failures)
