"""The schemathesis helper every service's fuzz test uses finds what it is there to find."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from pydantic import BaseModel

from loom_common import flask_app
from loom_common.api_fuzzing import fuzz_openapi
from loom_common.auth import public
from loom_common.openapi import make_spec
from loom_common.settings import Settings

BuildApp = Callable[[Settings], Flask]


class Word(BaseModel):
    word: str


def _app_with_a_flaw(settings: Settings) -> Flask:
    """One sound operation, one that fails on an empty word, one that forgets its token check."""
    spec = make_spec("probe")
    app = Flask("probe")
    flask_app.init_app(app, settings, spec=spec)

    @app.get("/api/sound")
    @spec.validate(query=Word, tags=["probe"])
    def sound(query: Word) -> dict[str, int]:
        return {"length": len(query.word)}

    @app.get("/api/fragile")
    @spec.validate(query=Word, tags=["probe"])
    def fragile(query: Word) -> dict[str, str]:
        return {"first": query.word[0]}  # IndexError on "": a 500

    @app.get("/api/open")
    @public  # but documented with the spec's bearer security
    @spec.validate(query=Word, tags=["probe"])
    def left_open(query: Word) -> dict[str, str]:
        return {"word": query.word}

    return app


def test_server_errors_and_ignored_auth_are_reported_per_operation(
    make_settings: Callable[..., Settings], operator_headers: dict[str, str]
) -> None:
    app = _app_with_a_flaw(make_settings("web", migrate=False, capture_errors=False))

    failures = fuzz_openapi(app, operator_headers, examples=50)

    reported = "\n".join(failures)
    assert not any(failure.startswith("GET /api/sound") for failure in failures), reported
    assert any(f.startswith("GET /api/fragile") and "Server error" in f for f in failures), reported
    assert any(f.startswith("GET /api/open") and "auth" in f.lower() for f in failures), reported


def test_an_operation_named_in_skip_is_not_called(
    make_settings: Callable[..., Settings], operator_headers: dict[str, str]
) -> None:
    app = _app_with_a_flaw(make_settings("web", migrate=False, capture_errors=False))

    failures = fuzz_openapi(
        app, operator_headers, skip=("GET /api/fragile", "GET /api/open"), examples=10
    )

    assert failures == []
