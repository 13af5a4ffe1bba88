"""The errors API (and its Sentry ingest) fuzzed from its own OpenAPI document
(schemathesis): no 5xx, auth enforced, answers as documented."""

from __future__ import annotations

from collections.abc import Callable

from loom_common.api_fuzzing import fuzz_openapi
from loom_common.settings import Settings
from loom_errors.app import create_app


def test_the_api_holds_up_under_fuzzing(
    make_settings: Callable[..., Settings], operator_headers: dict[str, str]
) -> None:
    app = create_app(make_settings("errors", ship_logs=False, capture_errors=False))
    failures = fuzz_openapi(app, operator_headers)
    assert not failures, "\n\n".join(failures)
