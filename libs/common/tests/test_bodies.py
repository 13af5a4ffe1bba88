"""The one bounded body reader: every encoding in, bombs and oversized bodies out, each refusal
a clear house error (413, 400, 415) with the reason it is counted under."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable

import brotli
import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient

from loom_common import api_errors
from loom_common.bodies import BodyRefused, decode_body, read_body

WIRE_LIMIT = 2_000
DECODED_LIMIT = 50_000
BODY = b'{"message": "' + b"hello " * 1_000 + b'"}'  # 6 KB: over the wire limit as it is


def _raw_deflate(data: bytes) -> bytes:
    return zlib.compress(data, wbits=-15)


@pytest.fixture
def client() -> FlaskClient:
    app = Flask(__name__)
    api_errors.init_app(app)

    def _reader(sniff: bool) -> Callable[[], object]:
        def view() -> object:
            body = read_body(WIRE_LIMIT, DECODED_LIMIT, sniff=sniff)
            return jsonify(size=len(body), start=body[:12].decode(errors="replace"))

        return view

    app.add_url_rule("/api/labelled", "labelled", _reader(False), methods=["POST"])
    app.add_url_rule("/api/sniffed", "sniffed", _reader(True), methods=["POST"])

    @app.errorhandler(BodyRefused)
    def _with_reason(refusal: BodyRefused) -> object:
        answer = api_errors.error_response(refusal.status, refusal.message)
        answer.headers["X-Reason"] = refusal.reason
        return answer

    return app.test_client()


@pytest.mark.parametrize(
    ("label", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),  # raw deflate, as some clients send it
        ("br", brotli.compress),
        (" GZIP ", gzip.compress),
    ],
)
def test_each_labelled_encoding_is_undone(
    client: FlaskClient, label: str, encode: Callable[[bytes], bytes]
) -> None:
    response = client.post("/api/labelled", data=encode(BODY), headers={"Content-Encoding": label})
    assert response.status_code == 200, response.json
    assert response.json == {"size": len(BODY), "start": '{"message": '}


@pytest.mark.parametrize(
    ("label", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
        ("br", brotli.compress),
    ],
)
def test_a_bomb_is_refused_413_past_the_decoded_limit(
    client: FlaskClient, label: str, encode: Callable[[bytes], bytes]
) -> None:
    bomb = encode(b" " * 1_500_000)  # 30 times the decoded limit, from under 2 KB
    assert len(bomb) < WIRE_LIMIT

    response = client.post("/api/labelled", data=bomb, headers={"Content-Encoding": label})

    assert response.status_code == 413
    assert response.json["error"] == {
        "code": "too_large",
        "message": f"the decompressed body is over the {DECODED_LIMIT} byte limit",
    }
    assert response.headers["X-Reason"] == "decompressed_too_large"


def test_a_body_over_the_wire_limit_is_refused_413_sized_or_chunked(client: FlaskClient) -> None:
    sized = client.post("/api/labelled", data=BODY)
    chunked = client.post(
        "/api/labelled",
        input_stream=io.BytesIO(BODY),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn says of chunked bodies
    )

    for response in (sized, chunked):
        assert response.status_code == 413
        assert response.json["error"]["message"] == f"the body is over the {WIRE_LIMIT} byte limit"
        assert response.headers["X-Reason"] == "body_too_large"


@pytest.mark.parametrize(
    ("body", "label", "message"),
    [
        (b"not gzip at all", "gzip", "the body is not valid gzip"),
        (gzip.compress(BODY)[:40], "gzip", "the compressed body is cut short"),
        (b"\x78\x9c garbage", "deflate", "the body is not valid deflate"),
        (b"not brotli", "br", "the body is not valid br"),
        (brotli.compress(BODY)[:20], "br", "the compressed body is cut short"),
    ],
)
def test_a_body_that_does_not_decode_is_a_400_saying_why(
    client: FlaskClient, body: bytes, label: str, message: str
) -> None:
    response = client.post("/api/labelled", data=body, headers={"Content-Encoding": label})
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith(message)
    assert response.headers["X-Reason"] == "bad_compression"


@pytest.mark.parametrize("path", ["/api/labelled", "/api/sniffed"])
def test_an_encoding_we_do_not_speak_is_a_415_naming_it(client: FlaskClient, path: str) -> None:
    response = client.post(path, data=b"(zstd bytes)", headers={"Content-Encoding": "zstd"})
    assert response.status_code == 415
    assert response.json["error"] == {
        "code": "unsupported_media_type",
        "message": "unsupported Content-Encoding 'zstd': use gzip, deflate, br or identity",
    }
    assert response.headers["X-Reason"] == "unsupported_encoding"


@pytest.mark.parametrize(
    ("label", "body"),
    [
        ("gzip,deflate", zlib.compress(BODY)),  # graypy's label of a zlib body
        ("", gzip.compress(BODY)),  # no label at all, as GELF over UDP
        ("gzip", BODY[:1_500]),  # labelled compressed, sent plain
        ("br", brotli.compress(BODY)),  # no magic bytes: the label decides
    ],
)
def test_sniffing_trusts_the_magic_bytes_over_the_label(
    client: FlaskClient, label: str, body: bytes
) -> None:
    response = client.post("/api/sniffed", data=body, headers={"Content-Encoding": label})
    assert response.status_code == 200, response.json
    assert response.json["start"] == '{"message": '


def test_decoding_outside_a_request_caps_plain_bodies_too() -> None:
    with pytest.raises(BodyRefused, match="over the 10 byte limit") as refused:
        decode_body(b"x" * 11, None, 10, sniff=True)
    assert (refused.value.status, refused.value.reason) == (413, "decompressed_too_large")
