"""Decompressing incoming payloads by what they are, not by what they claim to be.

graypy's HTTP handler labels a zlib body ``gzip,deflate``, and GELF UDP carries no label at
all, so the encoding is read from the magic bytes: ``1f 8b`` is gzip, a valid zlib header
(``78 ..``, a multiple of 31) is zlib, anything else is taken as plain. Output is capped, so a
small decompression bomb costs at most ``max_bytes`` of memory.
"""

from __future__ import annotations

import zlib

GZIP_MAGIC = b"\x1f\x8b"


class PayloadTooLarge(ValueError):
    """The payload (after decompression) is larger than allowed."""


class BadCompression(ValueError):
    """The payload looks compressed but does not decompress."""


def _looks_like_zlib(data: bytes) -> bool:
    return (
        len(data) >= 2
        and data[0] & 0x0F == 8  # method: deflate
        and data[0] >> 4 <= 7  # window size
        and (data[0] << 8 | data[1]) % 31 == 0
    )


def detect_encoding(data: bytes) -> str:
    """``gzip``, ``zlib`` or ``plain``."""
    if data.startswith(GZIP_MAGIC):
        return "gzip"
    if _looks_like_zlib(data):
        return "zlib"
    return "plain"


def _inflate(data: bytes, wbits: int, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        output = inflater.decompress(data, max_bytes + 1)
    except zlib.error as error:
        raise BadCompression(f"cannot decompress: {error}") from None
    if len(output) > max_bytes or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"decompressed payload exceeds {max_bytes} bytes")
    if not inflater.eof:
        raise BadCompression("cannot decompress: the compressed stream is truncated")
    return output


def decompress(data: bytes, max_bytes: int) -> bytes:
    """``data`` decompressed if it is gzip or zlib, else unchanged; at most ``max_bytes``."""
    encoding = detect_encoding(data)
    if encoding == "gzip":
        return _inflate(data, 16 + zlib.MAX_WBITS, max_bytes)
    if encoding == "zlib":
        return _inflate(data, zlib.MAX_WBITS, max_bytes)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"payload exceeds {max_bytes} bytes")
    return data
