"""Uncaught exceptions become scrubbed Sentry-schema events sent to the errors queue, without
ever hurting the request that failed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import pytest
import sentry_sdk
from flask import Flask
from prometheus_client import REGISTRY

from loom_common.broker import LoomRabbitmqBroker, send
from loom_common.capture_limits import CaptureLimiter
from loom_common.contracts import ERRORS_ACTOR
from loom_common.error_capture import BrokerTransport, init_error_capture
from loom_common.middleware.error_capture import is_failure_about_itself
from loom_common.request_context import request_id_var
from loom_common.settings import Settings
from loom_common.testing import wait_until

BuildApp = Callable[[Settings], Flask]
HOUSE_500 = {"code": "internal_error", "message": "internal error; it has been reported"}


class FakePublish:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.attempts = 0
        self.broker_up = threading.Event()
        self.broker_up.set()

    def __call__(self, event: dict[str, Any]) -> None:
        self.attempts += 1
        if not self.broker_up.is_set():
            raise ConnectionError("broker is down")
        self.events.append(event)


@pytest.fixture
def publish() -> FakePublish:
    return FakePublish()


@pytest.fixture
def capture(
    make_settings: Callable[..., Settings], publish: FakePublish
) -> Iterator[Callable[..., tuple[Settings, BrokerTransport]]]:
    transports: list[BrokerTransport] = []

    def start(**overrides: Any) -> tuple[Settings, BrokerTransport]:
        settings = make_settings("web", migrate=False, release="9.9.9", **overrides)
        transport = init_error_capture(settings, publish=publish)
        assert transport is not None
        transports.append(transport)
        return settings, transport

    yield start
    for transport in transports:
        transport.kill()


def failing_app(build_app: BuildApp, settings: Settings) -> Flask:
    app = build_app(settings)

    @app.post("/api/boom")
    def boom() -> None:
        raise RuntimeError("the view broke")

    @app.get("/boom")
    def boom_page() -> None:
        raise RuntimeError("the page broke")

    return app


def _dropped_errors(service: str) -> float:
    value = REGISTRY.get_sample_value(
        "loom_error_events_dropped_total", {"service": service, "reason": "buffer_full"}
    )
    return value or 0.0


def test_an_exception_in_a_view_becomes_a_scrubbed_event(
    capture: Callable[..., tuple[Settings, BrokerTransport]],
    publish: FakePublish,
    build_app: BuildApp,
    operator_headers: dict[str, str],
) -> None:
    settings, _transport = capture()
    client = failing_app(build_app, settings).test_client()
    client.set_cookie("session", "cookie-secret-value")

    response = client.post(
        "/api/boom?page=2",
        json={"user": "ada", "password": "hunter2-secret"},
        headers={**operator_headers, "X-Request-ID": "req-boom-1"},
    )

    assert response.status_code == 500
    assert response.json == {"error": HOUSE_500}
    event = wait_until(lambda: publish.events and publish.events[0], message="the error event")

    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "the view broke"
    frames = exception["stacktrace"]["frames"]
    ours = [f for f in frames if f.get("abs_path", "").endswith("test_error_capture.py")]
    assert ours, "the failing view's frame is missing"
    assert ours[-1]["function"] == "boom"
    assert ours[-1]["in_app"] is True
    assert any(f.get("in_app") is False for f in frames if "flask" in f.get("module", ""))

    assert event["tags"]["service"] == "web"
    assert event["tags"]["request_id"] == "req-boom-1"
    assert event["environment"] == "test"
    assert event["release"] == "9.9.9"
    assert event["request"]["url"] == "http://localhost/api/boom"
    assert event["request"]["method"] == "POST"
    assert event["request"]["query_string"] == "page=2"

    headers = event["request"]["headers"]
    assert headers.get("Authorization", "[Filtered]") == "[Filtered]"
    assert headers.get("Cookie", "[Filtered]") == "[Filtered]"
    assert event["request"]["data"].get("password", "[Filtered]") == "[Filtered]"
    assert event["request"]["data"]["user"] == "ada"
    flat = repr(event)
    for secret in ("hunter2-secret", "cookie-secret-value", "Bearer dev-api-token"):
        assert secret not in flat


def test_secret_and_personal_headers_are_scrubbed_whatever_their_spelling(
    capture: Callable[..., tuple[Settings, BrokerTransport]],
    publish: FakePublish,
    build_app: BuildApp,
    operator_headers: dict[str, str],
) -> None:
    settings, _transport = capture()
    client = failing_app(build_app, settings).test_client()

    client.post(
        "/api/boom",
        headers={
            **operator_headers,
            "X-Api-Key": "api-key-secret-value",
            "X-Forwarded-For": "203.0.113.7",
        },
    )

    event = wait_until(lambda: publish.events and publish.events[0], message="the error event")
    assert "api-key-secret-value" not in repr(event["request"])
    assert "203.0.113.7" not in repr(event["request"])


def test_every_password_field_of_a_form_and_secrets_in_the_message_are_scrubbed(
    capture: Callable[..., tuple[Settings, BrokerTransport]],
    publish: FakePublish,
    build_app: BuildApp,
) -> None:
    # The web app's register and reset forms post the password twice (password, confirm).
    settings, _transport = capture()
    app = build_app(settings)

    @app.post("/register-boom")
    def register_boom() -> None:
        raise RuntimeError("cannot reach amqp://loom:broker-pass-1@rabbit/%2F")

    response = app.test_client().post(
        "/register-boom",
        data={
            "email": "ada@example.com",
            "password": "pw-secret-1",
            "confirm": "pw-secret-1",
            "new_password": "pw-secret-2",
            "password_confirm": "pw-secret-2",
        },
    )

    assert response.status_code == 500
    event = wait_until(lambda: publish.events and publish.events[0], message="the error event")
    assert event["request"]["data"] == {
        "email": "ada@example.com",
        "password": "[Filtered]",
        "confirm": "[Filtered]",
        "new_password": "[Filtered]",
        "password_confirm": "[Filtered]",
    }
    assert event["exception"]["values"][-1]["value"] == (
        "cannot reach amqp://loom:[Filtered]@rabbit/%2F"
    )
    for secret in ("pw-secret-1", "pw-secret-2", "broker-pass-1"):
        assert secret not in repr(event), secret


def test_a_page_exception_is_captured_too(
    capture: Callable[..., tuple[Settings, BrokerTransport]],
    publish: FakePublish,
    build_app: BuildApp,
) -> None:
    settings, _transport = capture()
    response = failing_app(build_app, settings).test_client().get("/boom")
    assert response.status_code == 500
    event = wait_until(lambda: publish.events and publish.events[0], message="the error event")
    assert event["exception"]["values"][-1]["value"] == "the page broke"
    assert event["tags"]["route"] == "/boom"


def test_capture_failing_never_reaches_the_client(
    capture: Callable[..., tuple[Settings, BrokerTransport]],
    build_app: BuildApp,
    operator_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, _transport = capture()

    def broken_capture(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("sentry itself is broken")

    monkeypatch.setattr(sentry_sdk, "capture_exception", broken_capture)
    response = (
        failing_app(build_app, settings).test_client().post("/api/boom", headers=operator_headers)
    )
    assert response.status_code == 500
    assert response.json == {"error": HOUSE_500}


def test_a_down_broker_never_reaches_the_client_and_a_full_buffer_counts_drops(
    capture: Callable[..., tuple[Settings, BrokerTransport]],
    publish: FakePublish,
    build_app: BuildApp,
    operator_headers: dict[str, str],
) -> None:
    publish.broker_up.clear()
    settings, _transport = capture(error_buffer=1)
    client = failing_app(build_app, settings).test_client()
    before = _dropped_errors("web")

    first = client.post("/api/boom", headers=operator_headers)
    assert first.json == {"error": HOUSE_500}
    wait_until(lambda: publish.attempts >= 1, message="the sender to try the first event")

    for _ in range(4):  # one fits the buffer, three do not
        response = client.post("/api/boom", headers=operator_headers)
        assert response.status_code == 500
        assert response.json == {"error": HOUSE_500}

    assert _dropped_errors("web") - before == 3
    assert publish.events == []

    publish.broker_up.set()
    wait_until(lambda: len(publish.events) == 2, timeout=15, message="the two kept events sent")


def test_an_actor_failure_is_captured_with_the_senders_request_id(
    capture: Callable[..., tuple[Settings, BrokerTransport]],
    publish: FakePublish,
    broker: LoomRabbitmqBroker,
) -> None:
    capture()
    queue = f"q-{uuid.uuid4().hex[:10]}"
    actor_name = f"broken-{queue}"

    def broken() -> None:
        raise KeyError("missing thing")

    dramatiq.actor(broken, actor_name=actor_name, queue_name=queue, broker=broker, max_retries=0)
    worker = dramatiq.Worker(broker, queues={queue}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        token = request_id_var.set("req-for-the-actor")
        try:
            send(queue, actor_name)
        finally:
            request_id_var.reset(token)
        event = wait_until(lambda: publish.events and publish.events[0], timeout=15)
    finally:
        worker.stop()

    assert event["exception"]["values"][-1]["type"] == "KeyError"
    assert event["tags"]["actor"] == actor_name
    assert event["tags"]["queue"] == queue
    assert event["tags"]["request_id"] == "req-for-the-actor"


def _message(actor_name: str, event: Any) -> dramatiq.Message[Any]:
    return dramatiq.Message(
        queue_name="errors", actor_name=actor_name, args=(), kwargs={"event": event}, options={}
    )


@pytest.mark.parametrize(
    ("actor_name", "event", "about_itself"),
    [
        (ERRORS_ACTOR, {"tags": {"actor": ERRORS_ACTOR}}, True),
        (ERRORS_ACTOR, {"tags": [["service", "errors"], ["actor", ERRORS_ACTOR]]}, True),
        (ERRORS_ACTOR, {"tags": {"actor": "greet"}}, False),
        (ERRORS_ACTOR, {"tags": {"service": "web"}}, False),
        (ERRORS_ACTOR, {}, False),
        (ERRORS_ACTOR, None, False),
        ("greet", {"tags": {"actor": ERRORS_ACTOR}}, False),
    ],
)
def test_only_a_failure_ingesting_an_ingest_failure_is_about_itself(
    actor_name: str, event: Any, about_itself: bool
) -> None:
    assert is_failure_about_itself(_message(actor_name, event)) is about_itself


def _dropped(service: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "loom_error_events_dropped_total", {"service": service, "reason": reason}
    )
    return value or 0.0


def flooded_app(build_app: BuildApp, settings: Settings) -> Flask:
    app = build_app(settings)

    @app.post("/api/crafted/<int:kind>")
    def crafted(kind: int) -> None:
        # A distinct exception type per kind: a distinct failure, as far as the limit goes.
        raise type(f"CraftedError{kind}", (RuntimeError,), {})("crafted")

    return app


def test_one_failure_repeated_is_reported_only_a_few_times(
    capture: Callable[..., tuple[Settings, BrokerTransport]],
    publish: FakePublish,
    build_app: BuildApp,
    operator_headers: dict[str, str],
) -> None:
    # Refills too slow to matter during the test: exactly the bursts go through.
    settings, transport = capture(error_repeat_burst=5, error_repeats_per_minute=0.001)
    client = flooded_app(build_app, settings).test_client()
    before = _dropped("web", "repeated")

    for _ in range(30):
        response = client.post("/api/crafted/1", headers=operator_headers)
        assert response.status_code == 500
        assert response.json == {"error": HOUSE_500}

    assert _dropped("web", "repeated") - before == 25
    wait_until(lambda: len(publish.events) == 5, message="the five kept events sent")
    transport.flush(5)
    assert len(publish.events) == 5


def test_a_flood_of_distinct_failures_is_cut_after_the_burst(
    capture: Callable[..., tuple[Settings, BrokerTransport]],
    publish: FakePublish,
    build_app: BuildApp,
    operator_headers: dict[str, str],
) -> None:
    settings, transport = capture(error_burst=20, error_rate=0.001)
    client = flooded_app(build_app, settings).test_client()
    before = _dropped("web", "rate_limited")

    for kind in range(30):
        response = client.post(f"/api/crafted/{kind}", headers=operator_headers)
        assert response.status_code == 500

    assert _dropped("web", "rate_limited") - before == 10
    wait_until(lambda: len(publish.events) == 20, message="the burst of events sent")
    transport.flush(5)
    kinds = {event["exception"]["values"][-1]["type"] for event in publish.events}
    assert kinds == {f"CraftedError{kind}" for kind in range(20)}
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'loom_error_events_dropped_total{reason="rate_limited",service="web"}' in metrics


def test_the_limit_refills_over_time() -> None:
    now = [0.0]
    limiter = CaptureLimiter(
        burst=2, rate=1.0, repeat_burst=1, repeat_rate=0.5, clock=lambda: now[0]
    )
    failure = {"exception": {"values": [{"type": "KeyError", "stacktrace": {"frames": []}}]}}
    other = {"message": "disk full"}
    assert limiter.refusal(failure) is None
    assert limiter.refusal(failure) == "repeated"
    assert limiter.refusal(other) is None
    assert limiter.refusal({"message": "third"}) == "rate_limited"
    now[0] = 2.0  # one repeat token (0.5/s) and two general tokens are back
    assert limiter.refusal(failure) is None
    assert limiter.refusal({"message": "third"}) is None
