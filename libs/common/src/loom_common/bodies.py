"""Reading a request body within its limits: on the wire, and once its encoding is undone.

One reader for every ingest path. The body as sent is capped (``Content-Length`` first, then
what werkzeug reads, chunked bodies included); decompression stops one byte past the decoded
cap, so a bomb (a few KB that inflate to gigabytes) costs at most that cap of memory.

Encodings: identity, gzip (``x-gzip``), deflate (zlib-wrapped as RFC 9110 says, or raw, as some
clients send), br. Two ways to choose one:

- by the ``Content-Encoding`` label (the Sentry ingest: SDKs label what they send);
- ``sniff=True``: by the body's magic bytes, the label only where bytes cannot tell (br). For
  senders that mislabel (graypy's HTTP handler says ``gzip,deflate`` of a zlib body) or cannot
  label at all (GELF over UDP).

Every refusal is a :class:`BodyRefused`: 413 too large (as sent or decoded), 400 a body that
does not decode, 415 an encoding we do not speak; ``reason`` is the metric label to count it.
"""

from __future__ import annotations

import zlib

import brotli
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from loom_common.api_errors import ApiError

# Brotli hands its output over in pieces of at most this, so the cap is checked between pieces.
_BROTLI_PIECE = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS
# Labels that name no transformation of the bytes, or one the magic bytes settle when sniffing.
_IDENTITY = ("", "identity")
_SNIFFED = {"", "identity", "gzip", "x-gzip", "deflate"}


class BodyRefused(ApiError):
    """A request body refused; ``reason`` is the metric label it is counted under."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(status, message)
        self.reason = reason


def body_too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, "body_too_large", f"the body is over the {limit} byte limit")


def decoded_too_large(limit: int) -> BodyRefused:
    message = f"the decompressed body is over the {limit} byte limit"
    return BodyRefused(413, "decompressed_too_large", message)


def bad_compression(message: str) -> BodyRefused:
    return BodyRefused(400, "bad_compression", message)


def unsupported_encoding(label: str) -> BodyRefused:
    message = f"unsupported Content-Encoding {label!r}: use gzip, deflate, br or identity"
    return BodyRefused(415, "unsupported_encoding", message)


def looks_like_zlib(data: bytes) -> bool:
    """A zlib header: deflate method, a window size zlib knows, a check that divides by 31."""
    return (
        len(data) >= 2
        and data[0] & 0x0F == 8
        and data[0] >> 4 <= 7
        and (data[0] << 8 | data[1]) % 31 == 0
    )


def _inflate(body: bytes, wbits: int, encoding: str, cap: int) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    try:
        # One call told to stop one byte past the cap: no growing buffers, no bomb.
        output = decompressor.decompress(body, cap + 1)
    except zlib.error as error:
        raise bad_compression(f"the body is not valid {encoding}: {error}") from None
    if len(output) > cap:
        raise decoded_too_large(cap)
    if not decompressor.eof:
        raise bad_compression("the compressed body is cut short")
    return output


def _unbrotli(body: bytes, cap: int) -> bytes:
    decompressor = brotli.Decompressor()
    try:
        output = bytearray(decompressor.process(body, output_buffer_limit=_BROTLI_PIECE))
        while not decompressor.can_accept_more_data() and len(output) <= cap:
            output += decompressor.process(b"", output_buffer_limit=_BROTLI_PIECE)
    except brotli.error as error:
        raise bad_compression(f"the body is not valid br: {error}") from None
    if len(output) > cap:
        raise decoded_too_large(cap)
    if not decompressor.is_finished():
        raise bad_compression("the compressed body is cut short")
    return bytes(output)


def _identity(body: bytes, cap: int) -> bytes:
    if len(body) > cap:
        raise decoded_too_large(cap)
    return body


def _by_label(body: bytes, label: str, cap: int) -> bytes:
    if label in _IDENTITY:
        return _identity(body, cap)
    if label in ("gzip", "x-gzip"):
        return _inflate(body, _GZIP_WBITS, "gzip", cap)
    if label == "deflate":
        wbits = _ZLIB_WBITS if looks_like_zlib(body) else _RAW_DEFLATE_WBITS
        return _inflate(body, wbits, "deflate", cap)
    if label == "br":
        return _unbrotli(body, cap)
    raise unsupported_encoding(label)


def _by_magic(body: bytes, label: str, cap: int) -> bytes:
    if body.startswith(_GZIP_MAGIC):
        return _inflate(body, _GZIP_WBITS, "gzip", cap)
    if looks_like_zlib(body):
        return _inflate(body, _ZLIB_WBITS, "deflate", cap)
    if label == "br":  # brotli has no magic bytes: here the label is all there is
        return _unbrotli(body, cap)
    # What the bytes do not show as compressed is plain, whatever gzip/deflate label it wears.
    if all(part.strip() in _SNIFFED for part in label.split(",")):
        return _identity(body, cap)
    raise unsupported_encoding(label)


def decode_body(
    body: bytes, content_encoding: str | None, max_decoded_bytes: int, *, sniff: bool = False
) -> bytes:
    """``body`` with its encoding undone, at most ``max_decoded_bytes``; raise :class:`BodyRefused`.

    ``sniff``: choose by the magic bytes rather than the label (see the module docstring).
    """
    label = (content_encoding or "").strip().lower()
    if sniff:
        return _by_magic(body, label, max_decoded_bytes)
    return _by_label(body, label, max_decoded_bytes)


def read_body(
    max_bytes: int, max_decoded_bytes: int | None = None, *, sniff: bool = False
) -> bytes:
    """The current request's body, decoded; at most ``max_bytes`` as sent and
    ``max_decoded_bytes`` (default: the same) decoded. Raise :class:`BodyRefused`."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise body_too_large(max_bytes)
    # A chunked body has no length to check first: werkzeug stops reading one byte past the
    # limit, which is enough to tell the body is over it.
    request.max_content_length = max_bytes + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise body_too_large(max_bytes) from None
    if len(raw) > max_bytes:
        raise body_too_large(max_bytes)
    decoded_cap = max_bytes if max_decoded_bytes is None else max_decoded_bytes
    return decode_body(raw, request.headers.get("Content-Encoding"), decoded_cap, sniff=sniff)
