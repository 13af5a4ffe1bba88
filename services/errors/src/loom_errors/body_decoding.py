"""Undoing a request body's Content-Encoding (gzip, deflate, br) without trusting its size.

Decompression stops as soon as the output passes the cap, so a small bomb (a few KB that
expand to gigabytes) costs at most ``cap`` bytes of memory.
"""

from __future__ import annotations

import zlib

import brotli

_CHUNK = 64 * 1024


class BodyTooLarge(ValueError):
    pass


class BadEncoding(ValueError):
    pass


def _inflate(body: bytes, decompressor: zlib._Decompress, cap: int) -> bytes:
    # One call, told to stop one byte past the cap: no copies of growing buffers.
    output = decompressor.decompress(body, cap + 1)
    if len(output) > cap:
        raise BodyTooLarge(f"the decompressed body is over the {cap} byte limit")
    if not decompressor.eof:
        raise BadEncoding("the compressed body is cut short")
    return output


def _unbrotli(body: bytes, cap: int) -> bytes:
    decompressor = brotli.Decompressor()
    output = bytearray(decompressor.process(body, output_buffer_limit=_CHUNK))
    while not decompressor.can_accept_more_data() and len(output) <= cap:
        output += decompressor.process(b"", output_buffer_limit=_CHUNK)
    if len(output) > cap:
        raise BodyTooLarge(f"the decompressed body is over the {cap} byte limit")
    if not decompressor.is_finished():
        raise BadEncoding("the compressed body is cut short")
    return bytes(output)


def decode_body(body: bytes, content_encoding: str | None, cap: int) -> bytes:
    """The body with its encoding undone; raise BodyTooLarge past ``cap`` or BadEncoding."""
    encoding = (content_encoding or "identity").strip().lower()
    try:
        if encoding in ("", "identity"):
            result = body
        elif encoding in ("gzip", "x-gzip"):
            result = _inflate(body, zlib.decompressobj(16 + zlib.MAX_WBITS), cap)
        elif encoding == "deflate":
            # RFC 9110 says zlib-wrapped; some clients send raw deflate. Accept both.
            wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS
            result = _inflate(body, zlib.decompressobj(wbits), cap)
        elif encoding == "br":
            result = _unbrotli(body, cap)
        else:
            raise BadEncoding(f"unsupported Content-Encoding {encoding!r}: use gzip, deflate or br")
    except (zlib.error, brotli.error) as error:
        raise BadEncoding(f"the body is not valid {encoding}: {error}") from None
    if len(result) > cap:
        raise BodyTooLarge(f"the decompressed body is over the {cap} byte limit")
    return result
