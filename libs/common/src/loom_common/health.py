"""``/healthz`` (the process answers) and ``/readyz`` (it can reach what it depends on).

``/readyz`` is open to all, and a driver's error names internal hosts, ports, users and
databases: outside dev and test it answers only which dependency is unreachable, and the
driver's detail goes to the log line, where operators look anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
from flask import Flask, Response
from loguru import logger

from loom_common.broker_urls import connect

ReadinessCheck = Callable[[], None]  # raises with a readable reason when not ready
UNREACHABLE = "unreachable"


def broker_check(broker_url: str, timeout: float = 2.0) -> ReadinessCheck:
    """Open and close an AMQP connection to any node of the list: proves address, credentials
    and vhost; ready while one node of the cluster answers."""

    def check() -> None:
        try:
            connection = connect(broker_url, timeout)
        except Exception as error:
            raise ConnectionError(
                type(error).__name__ + (f": {error}" if str(error) else "")
            ) from None
        connection.close()

    return check


class Readiness:
    """Runs the named checks; results are cached briefly so probes cannot hammer the broker."""

    def __init__(self, checks: dict[str, ReadinessCheck], cache_seconds: float = 1.0) -> None:
        self.checks = checks
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, dict[str, str]] | None = None

    def problems(self) -> dict[str, str]:
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        problems = {}
        for name, check in self.checks.items():
            try:
                check()
            except Exception as error:
                problems[name] = str(error) or type(error).__name__
                logger.warning("not ready: {} is down ({})", name, problems[name])
        self._cached = (now, problems)
        return problems


def init_app(
    app: Flask, readiness: Readiness, release: str = "", *, show_details: bool = False
) -> None:
    """``show_details``: put each check's error in the answer (dev and test only)."""
    # The release tells an operator (and a deploy) which version answers.
    alive = orjson.dumps({"status": "ok", "release": release})

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(alive, mimetype="application/json")

    @app.get("/readyz")
    def readyz() -> Response:
        problems = readiness.problems()
        if problems and not show_details:
            problems = dict.fromkeys(problems, UNREACHABLE)
        if problems:
            message = "not ready: " + "; ".join(
                f"{name} is down ({why})" for name, why in problems.items()
            )
            body = {
                "status": "unavailable",
                "error": {"code": "unavailable", "message": message},
                "down": problems,
            }
            return Response(orjson.dumps(body), status=503, mimetype="application/json")
        checks = dict.fromkeys(readiness.checks, "ok")
        return Response(
            orjson.dumps({"status": "ready", "checks": checks}), mimetype="application/json"
        )
