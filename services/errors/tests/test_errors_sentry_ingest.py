"""The Sentry ingest endpoints, request by request: what is queued, what is refused and why.

The Flask test client stands in for the SDK here (exact bytes, encodings and limits);
test_errors_sentry_sdk.py sends with the real sentry-sdk.
"""

from __future__ import annotations

import gzip
import re
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import brotli
import orjson
import pika
import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.contracts import ERRORS_QUEUE
from loom_common.flask_app import app_database
from loom_common.settings import Settings
from loom_common.testing import reconfigure
from loom_errors.app import create_app
from loom_errors.config import ErrorsConfig
from loom_errors.models import ProjectKey
from loom_errors.projects.service import create_key, create_project

Drain = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Iterator[Flask]:
    config = ErrorsConfig(max_body_bytes=20_000, max_decompressed_bytes=100_000)
    app = create_app(make_settings("errors", ship_logs=False, capture_errors=False), config)
    yield app
    app_database(app).dispose()


@pytest.fixture
def queued(drain_queue: Drain) -> Callable[[], list[dict[str, Any]]]:
    """The messages sent to the errors queue since the test began."""

    def waiting() -> list[dict[str, Any]]:
        try:
            return drain_queue(ERRORS_QUEUE)
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code == 404:  # nothing was ever sent in this vhost: none waiting
                return []
            raise

    waiting()
    return waiting


@pytest.fixture
def key(app: Flask) -> ProjectKey:
    with app_database(app).session() as session:
        project = create_project(session, "shop")
        return create_key(session, project.id)


def envelope(*items: tuple[dict[str, Any], bytes], event_id: str | None = None) -> bytes:
    header: dict[str, Any] = {"sent_at": "2026-03-01T12:00:00Z"}
    if event_id:
        header["event_id"] = event_id
    lines = [orjson.dumps(header)]
    for item_header, payload in items:
        lines += [orjson.dumps(item_header), payload]
    return b"\n".join(lines) + b"\n"


def event_item(event: dict[str, Any], with_length: bool = True) -> tuple[dict[str, Any], bytes]:
    payload = orjson.dumps(event)
    header: dict[str, Any] = {"type": "event"}
    if with_length:
        header["length"] = len(payload)
    return header, payload


def an_event(**fields: Any) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "message": "checkout failed", "level": "error"} | fields


def post(
    client: FlaskClient,
    key: ProjectKey,
    body: bytes,
    *,
    endpoint: str = "envelope",
    encoding: str | None = None,
    auth: str = "query",
) -> Any:
    headers = {"Content-Type": "application/x-sentry-envelope"}
    if encoding:
        headers["Content-Encoding"] = encoding
    query = {}
    if auth == "query":
        query["sentry_key"] = key.public_key
    else:
        headers["X-Sentry-Auth"] = (
            f"Sentry sentry_version=7, sentry_client=test/1.0, sentry_key={key.public_key}"
        )
    return client.post(
        f"/api/{key.project_id}/{endpoint}/", data=body, headers=headers, query_string=query
    )


def metric(client: FlaskClient, name: str, **labels: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_an_event_is_queued_for_its_project_and_its_id_answered(
    app: Flask, key: ProjectKey, queued: Callable[[], list[dict[str, Any]]]
) -> None:
    event = an_event()

    response = post(app.test_client(), key, envelope(event_item(event)), auth="header")

    assert response.status_code == 200
    assert response.json == {"id": event["event_id"]}
    (message,) = queued()
    assert message["actor_name"] == "errors.ingest"
    assert message["kwargs"]["project_id"] == key.project_id
    assert message["kwargs"]["event"]["message"] == "checkout failed"


def test_items_without_length_and_the_header_event_id_win(
    app: Flask, key: ProjectKey, queued: Callable[[], list[dict[str, Any]]]
) -> None:
    header_id = uuid.uuid4().hex
    body = envelope(event_item(an_event(), with_length=False), event_id=header_id)

    response = post(app.test_client(), key, body)

    assert response.status_code == 200
    assert response.json == {"id": header_id}
    assert [m["kwargs"]["event"]["event_id"] for m in queued()] == [header_id]


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-15)),  # raw deflate, as some send
        ("br", brotli.compress),
    ],
)
def test_compressed_bodies_are_accepted(
    app: Flask,
    key: ProjectKey,
    queued: Callable[[], list[dict[str, Any]]],
    encoding: str,
    compress: Callable[[bytes], bytes],
) -> None:
    event = an_event(extra={"padding": "x" * 30_000})  # over the raw limit before compression

    response = post(
        app.test_client(), key, compress(envelope(event_item(event))), encoding=encoding
    )

    assert response.status_code == 200, response.json
    assert [m["kwargs"]["event"]["event_id"] for m in queued()] == [event["event_id"]]


def test_the_store_endpoint_takes_one_json_event(
    app: Flask, key: ProjectKey, queued: Callable[[], list[dict[str, Any]]]
) -> None:
    event = an_event()

    response = post(app.test_client(), key, orjson.dumps(event), endpoint="store")

    assert response.status_code == 200
    assert response.json == {"id": event["event_id"]}
    assert len(queued()) == 1


def test_other_item_types_are_accepted_counted_and_not_stored(
    app: Flask, key: ProjectKey, queued: Callable[[], list[dict[str, Any]]]
) -> None:
    client = app.test_client()
    before = {
        kind: metric(client, "loom_errors_ingest_items_total", type=kind)
        for kind in ("session", "client_report", "transaction", "attachment", "unknown")
    }
    body = envelope(
        ({"type": "session"}, b'{"sid": "x", "status": "ok"}'),
        ({"type": "client_report"}, b'{"discarded_events": []}'),
        ({"type": "transaction"}, b'{"type": "transaction"}'),
        ({"type": "attachment", "length": 5, "filename": "a.txt"}, b"a\nb\nc"),
        ({"type": "something_new"}, b"{}"),
    )

    response = post(client, key, body)

    assert response.status_code == 200
    assert queued() == []
    for kind, count in before.items():
        assert metric(client, "loom_errors_ingest_items_total", type=kind) == count + 1, kind


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json\n", "malformed envelope: the envelope header is not JSON"),
        (b'{}\n{"length": 2}\n{}\n', "malformed envelope: item 1 has no type"),
        (b'{}\n{"type": "event", "length": 99}\n{}\n', "claims 99 bytes but the envelope ends"),
        (b'{}\n{"type": "event"}\n[1, 2]\n', "an event must be a JSON object"),
        (b'{}\n{"type": "event"}\n{"event_id": "nope"}\n', "event_id: not a UUID"),
        (b'{}\n{"type": "event"}\n{"tags": "a=b"}\n', "tags: must be an object or a list"),
    ],
)
def test_a_malformed_envelope_is_a_400_saying_what_is_wrong(
    app: Flask,
    key: ProjectKey,
    queued: Callable[[], list[dict[str, Any]]],
    body: bytes,
    message: str,
) -> None:
    client = app.test_client()
    before = metric(client, "loom_errors_ingest_refused_total", reason="malformed_envelope")
    before += metric(client, "loom_errors_ingest_refused_total", reason="malformed_event")

    response = post(client, key, body)

    assert response.status_code == 400
    assert response.json is not None
    assert message in response.json["error"]["message"]
    assert queued() == []
    after = metric(client, "loom_errors_ingest_refused_total", reason="malformed_envelope")
    after += metric(client, "loom_errors_ingest_refused_total", reason="malformed_event")
    assert after == before + 1


def nested(levels: int) -> bytes:
    """A JSON object ``levels`` deep, written by hand: orjson refuses to encode past 254."""
    return b'{"a":' * (levels - 1) + b"{}" + b"}" * (levels - 1)


def with_extra(levels: int) -> bytes:
    """An event whose ``extra`` is ``levels`` deep (the event itself one more)."""
    return orjson.dumps(an_event())[:-1] + b',"extra":' + nested(levels) + b"}"


def raw_item(payload: bytes) -> tuple[dict[str, Any], bytes]:
    return {"type": "event", "length": len(payload)}, payload


@pytest.mark.parametrize(
    ("endpoint", "body", "message"),
    [
        (
            "envelope",
            b'{"event_id": "not-a-uuid"}\n{"type": "session"}\n{}\n',
            "the envelope header's event_id is not a UUID: 'not-a-uuid'",
        ),
        (
            "envelope",
            b'{"event_id": "not-a-uuid"}\n',
            "the envelope header's event_id is not a UUID",
        ),
        ("envelope", b'{"event_id": 7}\n', "the envelope header's event_id must be a string"),
        (
            "envelope",
            envelope(raw_item(with_extra(300))),  # orjson parses it, would not encode it
            "the event item nests deeper than the 100 level limit",
        ),
        (
            "envelope",
            envelope(raw_item(with_extra(100))),  # 101 levels with the event
            "the event item nests deeper than the 100 level limit",
        ),
        (
            "store",
            with_extra(300),
            "the body nests deeper than the 100 level limit",
        ),
        ("store", b'"just a string"', "an event must be a JSON object"),
        ("store", b"[]", "an event must be a JSON object"),
        ("store", b"\x00", "the body is not JSON"),
        ("envelope", b'{}\n{"type": "event"}\n"\\u0000"\n', "an event must be a JSON object"),
    ],
)
def test_crafted_input_is_a_400_naming_the_problem(
    app: Flask,
    key: ProjectKey,
    queued: Callable[[], list[dict[str, Any]]],
    endpoint: str,
    body: bytes,
    message: str,
) -> None:
    response = post(app.test_client(), key, body, endpoint=endpoint)

    assert response.status_code == 400
    assert response.json is not None
    assert message in response.json["error"]["message"]
    assert queued() == []


def test_an_event_as_deep_as_the_limit_is_queued(
    app: Flask, key: ProjectKey, queued: Callable[[], list[dict[str, Any]]]
) -> None:
    response = post(app.test_client(), key, envelope(raw_item(with_extra(99))))

    assert response.status_code == 200
    (message,) = queued()
    assert orjson.dumps(message["kwargs"]["event"]["extra"]) == nested(99)


def test_a_header_event_id_with_hyphens_is_answered_as_hex(
    app: Flask, key: ProjectKey, queued: Callable[[], list[dict[str, Any]]]
) -> None:
    event_id = uuid.uuid4()
    body = envelope(({"type": "session"}, b"{}"), event_id=str(event_id))

    response = post(app.test_client(), key, body)

    assert response.status_code == 200
    assert response.json == {"id": event_id.hex}


def test_size_limits_hold_before_and_after_decompression(app: Flask, key: ProjectKey) -> None:
    client = app.test_client()
    raw_too_big = envelope(event_item(an_event(extra={"blob": "y" * 25_000})))
    bomb = gzip.compress(b"{}\n" + b" " * 10_000_000)  # about 10 KB that inflate to 10 MB
    assert len(bomb) < 20_000

    too_big = post(client, key, raw_too_big)
    exploded = post(client, key, bomb, encoding="gzip")
    bad_gzip = post(client, key, b"not gzip at all", encoding="gzip")

    assert too_big.status_code == 413
    assert too_big.json["error"]["message"] == "the body is over the 20000 byte limit"  # type: ignore[index]
    assert exploded.status_code == 413
    assert "decompressed body is over the 100000 byte limit" in exploded.json["error"]["message"]  # type: ignore[index]
    assert bad_gzip.status_code == 400
    assert metric(client, "loom_errors_ingest_refused_total", reason="body_too_large") >= 1
    assert metric(client, "loom_errors_ingest_refused_total", reason="decompressed_too_large") >= 1


def test_an_unknown_content_encoding_is_a_415_naming_it(app: Flask, key: ProjectKey) -> None:
    # Was a 400 (as if the body were broken); the body is fine, its encoding is not ours.
    client = app.test_client()

    response = post(client, key, b"(zstd bytes)", encoding="zstd")

    assert response.status_code == 415
    assert response.json["error"]["message"] == (  # type: ignore[index]
        "unsupported Content-Encoding 'zstd': use gzip, deflate, br or identity"
    )
    assert metric(client, "loom_errors_ingest_refused_total", reason="unsupported_encoding") == 1


def test_keys_and_projects_are_checked(app: Flask, key: ProjectKey) -> None:
    client = app.test_client()
    body = envelope(event_item(an_event()))
    url = f"/api/{key.project_id}/envelope/"
    with app_database(app).session() as session:
        default_key = create_key(session, 1)

    no_project = client.post("/api/99/envelope/", data=body, query_string={"sentry_key": "x"})
    no_key = client.post(url, data=body)
    wrong_key = client.post(url, data=body, query_string={"sentry_key": "0" * 32})
    other_project = client.post(url, data=body, query_string={"sentry_key": default_key.public_key})
    client.delete(f"/api/keys/{key.public_key}", headers={"Authorization": "Bearer dev-api-token"})
    revoked = post(client, key, body)

    assert no_project.status_code == 404
    assert no_project.json["error"]["message"] == "no project with id 99"  # type: ignore[index]
    assert no_key.status_code == 401
    assert "missing DSN key" in no_key.json["error"]["message"]  # type: ignore[index]
    assert wrong_key.status_code == 401
    assert other_project.status_code == 401
    assert revoked.status_code == 403
    assert revoked.json["error"]["message"] == "this DSN key was revoked"  # type: ignore[index]
    for reason in ("unknown_project", "missing_key", "bad_key", "revoked_key"):
        assert metric(client, "loom_errors_ingest_refused_total", reason=reason) >= 1, reason


def test_over_the_rate_limit_events_are_refused_with_retry_headers(
    app: Flask,
    key: ProjectKey,
    queued: Callable[[], list[dict[str, Any]]],
) -> None:
    reconfigure(app, rate_per_second=0.1, rate_burst=3)  # 3 at once, then one per 10 s
    client = app.test_client()
    before = metric(client, "loom_errors_ingest_refused_total", reason="rate_limited")

    answers = [post(client, key, envelope(event_item(an_event()))) for _ in range(5)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
    limited = answers[3]
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 10
    assert (
        limited.headers["X-Sentry-Rate-Limits"] == f"{retry_after}:error:project:{key.project_id}"
    )
    assert len(queued()) == 3
    assert metric(client, "loom_errors_ingest_refused_total", reason="rate_limited") == before + 2
    # Another project has its own bucket.
    with app_database(app).session() as session:
        default_key = create_key(session, 1)
    assert post(client, default_key, envelope(event_item(an_event()))).status_code == 200


def test_an_envelope_holds_at_most_one_event_as_in_sentry(
    app: Flask,
    key: ProjectKey,
    queued: Callable[[], list[dict[str, Any]]],
) -> None:
    reconfigure(app, max_body_bytes=1_000_000, max_decompressed_bytes=1_000_000)
    client = app.test_client()
    before = metric(
        client, "loom_errors_ingest_items_dropped_total", reason="too_many_events", type="event"
    )
    flood = envelope(*(event_item(an_event()) for _ in range(2_000)))
    mixed = envelope(event_item(an_event()), ({"type": "transaction"}, b"{}"))

    answers = [post(client, key, flood), post(client, key, mixed)]

    assert [answer.status_code for answer in answers] == [400, 400]
    assert answers[0].json["error"]["message"] == (  # type: ignore[index]
        "an envelope may hold at most one event or transaction item; this one holds 2000"
    )
    assert queued() == []
    after = metric(
        client, "loom_errors_ingest_items_dropped_total", reason="too_many_events", type="event"
    )
    assert after == before + 2_001


def test_each_event_and_transaction_takes_a_token_of_the_project(
    app: Flask,
    key: ProjectKey,
    queued: Callable[[], list[dict[str, Any]]],
) -> None:
    reconfigure(app, rate_per_second=0.1, rate_burst=2)
    client = app.test_client()
    dropped = {
        kind: metric(
            client, "loom_errors_ingest_items_dropped_total", reason="rate_limited", type=kind
        )
        for kind in ("event", "transaction")
    }
    transaction = envelope(({"type": "transaction"}, orjson.dumps({"type": "transaction"})))

    answers = [
        post(client, key, transaction),
        post(client, key, envelope(event_item(an_event()))),
        post(client, key, envelope(event_item(an_event()))),
        post(client, key, transaction),
        post(client, key, orjson.dumps(an_event()), endpoint="store"),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 429, 429, 429]
    categories = [answer.headers["X-Sentry-Rate-Limits"].split(":")[1] for answer in answers[2:]]
    assert categories == ["error", "transaction", "error"]
    assert all(int(answer.headers["Retry-After"]) >= 1 for answer in answers[2:])
    assert len(queued()) == 1
    for kind, drops in (("event", 2), ("transaction", 1)):
        after = metric(
            client, "loom_errors_ingest_items_dropped_total", reason="rate_limited", type=kind
        )
        assert after == dropped[kind] + drops, kind
