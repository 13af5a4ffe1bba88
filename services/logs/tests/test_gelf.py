"""GELF in every form graypy sends, unmodified: HTTP (zlib labelled gzip,deflate), UDP (chunked
or not) and TCP; found by search afterwards. Garbage is counted and dropped, and the listener
keeps answering."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import secrets
import shlex
import signal
import socket
import string
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import graypy
import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from loom_common.manifest import REPO_ROOT, load_manifest
from loom_common.settings import Settings
from loom_common.testing import free_port, wait_until
from loom_logs.config import load_logs_config
from loom_logs.ingest.gelf_server import GelfServer

Counter = Callable[..., float]
SERVICE_TOML = REPO_ROOT / "services" / "logs" / "service.toml"
Found = Callable[..., list[dict[str, Any]]]


def _gelf(**overrides: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "version": "1.1",
        "host": "gelf-host",
        "short_message": "hello gelf",
        "timestamp": 1_893_456_000.5,  # 2030-01-01T00:00:00.5Z
        "level": 4,
    }
    message.update(overrides)
    return message


def _refused(counter: Counter, source: str, reason: str) -> float:
    return counter("loom_logs_ingest_refused_total", source=source, reason=reason)


def _letters(count: int) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(count))


def _stdlib_logger(handler: logging.Handler) -> logging.Logger:
    named = logging.getLogger(f"gelf-test-{secrets.token_hex(4)}")
    named.propagate = False
    named.setLevel(logging.DEBUG)
    named.addHandler(handler)
    return named


def test_graypy_http_handler_lines_are_found_with_their_fields(
    consumer: ModuleType, http_port: int, found: Found
) -> None:
    marker = secrets.token_hex(6)
    handler = graypy.GELFHTTPHandler(
        "127.0.0.1", http_port, path="/gelf?token=ingest-token-1", compress=True
    )
    log = _stdlib_logger(handler)
    log.warning("gelf-http %s careful", marker, extra={"service": "shop", "order": {"id": 7}})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("gelf-http %s failed", marker)

    items = found(2, q=f"gelf-http {marker}")
    by_level = {item["level"]: item for item in items}
    careful, failed = by_level["WARNING"], by_level["ERROR"]
    assert careful["message"] == f"gelf-http {marker} careful"
    assert careful["service"] == "shop"
    assert careful["host"] == socket.gethostname()
    assert careful["fields"]["order.id"] == 7  # nested extra, flattened
    assert careful["logger"] == log.name  # graypy's facility
    assert (
        careful["line"]
        and careful["function"] == "test_graypy_http_handler_lines_are_found_with_their_fields"
    )
    assert careful["process"] == os.getpid()
    assert "ValueError: boom" in failed["exception"]


@pytest.mark.parametrize("encode", [lambda b: b, gzip.compress, zlib.compress])
def test_post_gelf_reads_plain_gzip_and_zlib_whatever_the_label(
    client: FlaskClient, published: Callable[[], list[dict[str, Any]]], encode: Any
) -> None:
    marker = secrets.token_hex(6)
    body = encode(orjson.dumps(_gelf(short_message=marker, _request_id="r-1", facility="app")))
    response = client.post(
        "/gelf",
        data=body,
        headers={"Authorization": "Bearer ingest-token-1", "Content-Encoding": "gzip,deflate"},
    )
    assert response.status_code == 202
    records = [record for record in published() if record["message"] == marker]
    assert len(records) == 1
    record = records[0]
    assert record["time"] == "2030-01-01T00:00:00.500000+00:00"
    assert (record["level"], record["host"], record["request_id"]) == (
        "WARNING",
        "gelf-host",
        "r-1",
    )
    assert record["fields"] == {"facility": "app"}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"host": "h"}, "missing_short_message"),
        (_gelf(host=None), "missing_host"),
        (_gelf(version="2.0"), "invalid_version"),
        (_gelf(level=9), "invalid_level"),
        (_gelf(timestamp="soon"), "invalid_timestamp"),
    ],
)
def test_post_gelf_refuses_invalid_messages_with_the_reason(
    client: FlaskClient, counter: Counter, message: dict[str, Any], reason: str
) -> None:
    before = counter("loom_logs_records_rejected_total", reason=reason)
    response = client.post(
        "/gelf", json=message, headers={"Authorization": "Bearer ingest-token-1"}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == reason
    assert counter("loom_logs_records_rejected_total", reason=reason) - before == 1


def test_post_gelf_needs_a_token(client: FlaskClient, counter: Counter) -> None:
    before = _refused(counter, "gelf_http", "unauthorized")
    response = client.post("/gelf", json=_gelf())
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert _refused(counter, "gelf_http", "unauthorized") - before == 1


def test_graypy_udp_and_tcp_handlers_chunked_or_not(
    consumer: ModuleType, gelf_server: GelfServer, found: Found
) -> None:
    marker = secrets.token_hex(6)
    udp = graypy.GELFUDPHandler(
        "127.0.0.1", gelf_server.udp_port, gelf_chunker=graypy.handler.GELFWarningChunker(200)
    )
    tcp = graypy.GELFTCPHandler("127.0.0.1", gelf_server.tcp_port)
    log = _stdlib_logger(udp)
    log.info("gelf-udp %s short", marker)
    # Many 200-byte chunks of letters: digits of neighbouring hex words can make a Luhn-valid
    # card number, which ingest scrubs.
    long_text = " ".join(_letters(16) for _ in range(300))
    log.info("gelf-udp %s long %s", marker, long_text)
    log.removeHandler(udp)
    log.addHandler(tcp)
    log.error("gelf-tcp %s one", marker)
    log.error("gelf-tcp %s two", marker)
    tcp.close()

    udp_items = found(2, q=f"gelf-udp {marker}")
    assert any(item["message"].endswith(long_text) for item in udp_items)
    tcp_items = found(2, q=f"gelf-tcp {marker}")
    assert {item["level"] for item in tcp_items} == {"ERROR"}


def _chunks(payload: bytes, size: int) -> list[bytes]:
    message_id = secrets.token_bytes(8)
    parts = [payload[i : i + size] for i in range(0, len(payload), size)]
    return [b"\x1e\x0f" + message_id + bytes([n, len(parts)]) + p for n, p in enumerate(parts)]


def test_garbage_broken_chunks_and_bombs_are_counted_and_the_listener_keeps_answering(
    consumer: ModuleType, gelf_server: GelfServer, counter: Counter, found: Found
) -> None:
    reasons = [
        ("gelf_udp", "malformed_json"),
        ("gelf_udp", "invalid_chunk"),
        ("gelf_udp", "chunks_incomplete"),
        ("gelf_udp", "decompressed_too_large"),
        ("gelf_udp", "bad_compression"),
        ("gelf_tcp", "malformed_json"),
        ("gelf_tcp", "frame_too_large"),
    ]
    before = {key: _refused(counter, *key) for key in reasons}
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    address = ("127.0.0.1", gelf_server.udp_port)
    udp.sendto(
        secrets.token_bytes(300)
        .replace(b"\x1e", b"x")
        .replace(b"\x1f", b"x")
        .replace(b"\x78", b"x"),
        address,
    )
    udp.sendto(b"\x1e\x0f" + b"12345678" + bytes([5, 3]) + b"{}", address)  # seq past count
    udp.sendto(_chunks(orjson.dumps(_gelf()), 20)[0], address)  # the rest never comes
    udp.sendto(zlib.compress(b" " * (50 * 1024 * 1024), 9), address)  # a bomb, 50 KB to 50 MB
    udp.sendto(b"\x1f\x8b" + b"broken gzip", address)
    with socket.create_connection(("127.0.0.1", gelf_server.tcp_port)) as tcp:
        tcp.sendall(b"not json at all\0")
    tcp_address = ("127.0.0.1", gelf_server.tcp_port)
    # No NUL in sight: the frame is dropped rather than buffered without bound.
    with socket.create_connection(tcp_address) as tcp, contextlib.suppress(ConnectionError):
        tcp.sendall(b"x" * (6 * 1024 * 1024))

    def all_counted() -> bool:
        return all(_refused(counter, *key) - before[key] >= 1 for key in reasons)

    wait_until(all_counted, timeout=10, message="every refusal to be counted")

    marker = secrets.token_hex(6)
    for chunk in reversed(_chunks(zlib.compress(orjson.dumps(_gelf(short_message=marker))), 30)):
        udp.sendto(chunk, address)  # out of order, compressed, chunked
    with socket.create_connection(("127.0.0.1", gelf_server.tcp_port)) as tcp:
        tcp.sendall(orjson.dumps(_gelf(short_message=marker + " tcp")) + b"\0")
    udp.close()
    assert len(found(2, q=marker)) == 2


def test_the_gelf_process_of_service_toml_listens_and_publishes(
    consumer: ModuleType, settings: Settings, tmp_path: Path, found: Found
) -> None:
    gelf = next(p for p in load_manifest(SERVICE_TOML).processes if p.kind == "gelf")
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "LOOM_SERVICE": "logs",
        "LOOM_ENV": "test",
        "LOOM_BROKER_URL": settings.broker_url,
        "LOOM_VAR_DIR": str(settings.var_dir),
        "LOOM_LOGS_GELF_HOST": "127.0.0.1",
        "LOOM_LOGS_GELF_PORT": str(port),
    }
    with (tmp_path / "gelf.log").open("wb") as log:
        process = subprocess.Popen(
            shlex.split(gelf.command), env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until(
            lambda: socket.create_connection(("127.0.0.1", port)).close() is None, timeout=30
        )
        marker = secrets.token_hex(6)
        log_to = _stdlib_logger(graypy.GELFUDPHandler("127.0.0.1", port))
        log_to.info("gelf-process %s arrived", marker)
        assert found(1, q=f"gelf-process {marker}")[0]["level"] == "INFO"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


@contextlib.contextmanager
def _listening(**overrides: Any) -> Iterator[GelfServer]:
    server = GelfServer(load_logs_config(**{"gelf_host": "127.0.0.1", "gelf_port": 0, **overrides}))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_two_slots_of_a_deploy_share_a_named_port(app: Flask) -> None:
    """Blue/green: the new release binds the GELF port while the old one still holds it."""
    port = free_port()
    with _listening(gelf_port=port) as old, _listening(gelf_port=port) as new:
        assert (old.udp_port, old.tcp_port, new.udp_port, new.tcp_port) == (port,) * 4
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(b'{"version": "1.1", "host": "h", "short_message": "both"}\0')
    # With the old slot gone, the port still takes messages.
    with _listening(gelf_port=port) as alone, socket.create_connection(("127.0.0.1", port)):
        assert alone.tcp_port == port


def _closed_by_server(connection: socket.socket) -> bool:
    connection.settimeout(0.05)
    try:
        return connection.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def test_tcp_connections_past_the_limit_are_closed_and_counted(
    app: Flask, counter: Counter
) -> None:
    before = _refused(counter, "gelf_tcp", "too_many_connections")
    with _listening(gelf_tcp_max_connections=2) as server:
        address = ("127.0.0.1", server.tcp_port)
        first, second = socket.create_connection(address), socket.create_connection(address)
        wait_until(lambda: server.tcp_connections == 2, timeout=10, message="two connections")
        extra = socket.create_connection(address)
        wait_until(lambda: _closed_by_server(extra), timeout=10, message="the extra one closed")
        assert _refused(counter, "gelf_tcp", "too_many_connections") - before == 1
        assert not _closed_by_server(first)
        first.close()
        wait_until(lambda: server.tcp_connections == 1, timeout=10, message="one left")
        again = socket.create_connection(address)
        wait_until(lambda: server.tcp_connections == 2, timeout=10, message="room again")
        assert not _closed_by_server(again)
        for connection in (second, extra, again):
            connection.close()


def test_a_silent_tcp_connection_is_closed_and_counted(app: Flask, counter: Counter) -> None:
    before = _refused(counter, "gelf_tcp", "idle_timeout")
    with _listening(gelf_tcp_idle_timeout=0.3) as server:
        with socket.create_connection(("127.0.0.1", server.tcp_port)) as idle:
            idle.sendall(b'{"half a frame')
            wait_until(lambda: _closed_by_server(idle), timeout=10, message="idle one closed")
        assert _refused(counter, "gelf_tcp", "idle_timeout") - before == 1
        wait_until(lambda: server.tcp_connections == 0, timeout=10, message="none open")


def test_an_oversized_tcp_frame_is_skipped_to_its_nul_and_the_next_frame_taken(
    consumer: ModuleType, counter: Counter, found: Found
) -> None:
    before = _refused(counter, "gelf_tcp", "frame_too_large")
    marker = secrets.token_hex(6)
    with (
        _listening(gelf_max_message_bytes=64 * 1024) as server,
        socket.create_connection(("127.0.0.1", server.tcp_port)) as tcp,
    ):
        tcp.sendall(b"x" * (300 * 1024))  # past the limit, no end yet
        tcp.sendall(b"y" * 1024 + b"\0")  # its end: skipped with it
        tcp.sendall(orjson.dumps(_gelf(short_message=marker)) + b"\0")
        assert found(1, q=marker)[0]["message"] == marker
        assert not _closed_by_server(tcp)
    assert _refused(counter, "gelf_tcp", "frame_too_large") - before == 1


def test_sixty_clients_sending_4_mib_without_a_nul_leave_nothing_held(
    app: Flask, counter: Counter
) -> None:
    # Each used to be buffered whole (about 285 MiB in all), the connections kept open.
    before = _refused(counter, "gelf_tcp", "frame_too_large")
    endless = b"x" * (4 * 1024 * 1024)
    with _listening() as server:
        clients = [socket.create_connection(("127.0.0.1", server.tcp_port)) for _ in range(60)]
        tracemalloc.start()
        try:
            for client in clients:
                client.sendall(endless)
            wait_until(
                lambda: _refused(counter, "gelf_tcp", "frame_too_large") - before == 60,
                timeout=60,
                message="sixty frames dropped",
            )
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            for client in clients:
                client.close()
    assert held < 20 * 1024 * 1024


def test_udp_chunks_past_the_held_bytes_bound_drop_the_oldest_sets(
    consumer: ModuleType, counter: Counter, found: Found
) -> None:
    before = _refused(counter, "gelf_udp", "chunks_evicted")
    marker = secrets.token_hex(6)
    with _listening(gelf_max_pending_bytes=256 * 1024, gelf_chunk_timeout=60) as server:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        address = ("127.0.0.1", server.udp_port)

        def evicted() -> float:
            return _refused(counter, "gelf_udp", "chunks_evicted") - before

        for sent in range(1, 101):  # first halves only: 100 x 8 KB waiting for the rest
            udp.sendto(_chunks(secrets.token_bytes(16_000), 8_000)[0], address)
            # One at a time, so that the kernel's receive buffer drops none of them.
            wait_until(
                lambda sent=sent: server.assembler.pending + evicted() == sent,
                timeout=10,
                message=f"chunk set {sent} taken",
            )
        assert evicted() == 100 - 256 * 1024 // 8_000  # the 32 newest sets are kept
        assert counter("loom_logs_gelf_chunk_bytes_held") <= 256 * 1024
        for chunk in _chunks(orjson.dumps(_gelf(short_message=marker)), 40):
            udp.sendto(chunk, address)
        assert found(1, q=marker)[0]["message"] == marker
        udp.close()
