"""The GELF listener: ``python -m loom_logs.ingest.gelf_server`` (UDP and TCP, port 12201 by default).

UDP datagrams may be chunked and gzip, zlib or plain; TCP carries plain messages ended by a
NUL byte. Each message is checked (:mod:`loom_logs.ingest.gelf`, :mod:`loom_logs.ingest.intake`) and
published to the ``logs`` queue in batches, like every other way in. Anything unusable
(garbage, broken or late chunks, decompression bombs, oversized frames) is counted in
``loom_logs_ingest_refused_total`` and dropped; the listener keeps going. What it holds is
bounded (see the ``gelf_*`` settings): connections past the limit are closed at once, and so
is a connection silent for too long.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from typing import Any

import orjson
from loguru import logger

from loom_common.bodies import BodyRefused, decode_body
from loom_common.runtime import init_process, publish_log_batch
from loom_logs.config import LogsConfig, load_logs_config
from loom_logs.ingest.batch_publisher import BatchPublisher, Publish
from loom_logs.ingest.gelf import gelf_to_record
from loom_logs.ingest.gelf_chunks import CHUNK_MAGIC, ChunkAssembler, ChunkRefused
from loom_logs.ingest.gelf_frames import NulFrames
from loom_logs.ingest.intake import check_records
from loom_logs.metrics import GELF_CHUNK_BYTES_HELD, GELF_TCP_CONNECTIONS, INGEST_REFUSED
from loom_logs.store.records import RecordRejected

EXPIRY_CHECK_INTERVAL = 1.0


class GelfIntake:
    """Turns one whole GELF payload into a queued record, or counts why it could not."""

    def __init__(self, config: LogsConfig, publisher: BatchPublisher) -> None:
        self.config = config
        self.publisher = publisher

    def take(self, payload: bytes, source: str) -> None:
        try:
            # GELF over UDP and TCP has no label: the magic bytes tell.
            body = decode_body(payload, None, self.config.gelf_max_message_bytes, sniff=True)
            message = orjson.loads(body)
        except BodyRefused as refusal:
            INGEST_REFUSED.labels(source=source, reason=refusal.reason).inc()
            return
        except orjson.JSONDecodeError:
            INGEST_REFUSED.labels(source=source, reason="malformed_json").inc()
            return
        try:
            candidate: dict[str, Any] | RecordRejected = gelf_to_record(message)
        except RecordRejected as rejection:
            candidate = rejection
        intake = check_records([candidate], max_record_bytes=self.config.max_record_bytes)
        for record in intake.accepted:
            self.publisher.offer(record, source)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, intake: GelfIntake, assembler: ChunkAssembler) -> None:
        self.intake = intake
        self.assembler = assembler

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if not data.startswith(CHUNK_MAGIC):
            self.intake.take(data, "gelf_udp")
            return
        try:
            whole = self.assembler.add(data, time.monotonic())
        except ChunkRefused as refusal:
            INGEST_REFUSED.labels(source="gelf_udp", reason=refusal.reason).inc()
            return
        finally:
            GELF_CHUNK_BYTES_HELD.set(self.assembler.held_bytes)
        if whole is not None:
            self.intake.take(whole, "gelf_udp")


async def _serve_tcp_client(
    intake: GelfIntake, config: LogsConfig, reader: asyncio.StreamReader
) -> None:
    frames = NulFrames(config.gelf_max_message_bytes)
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), config.gelf_tcp_idle_timeout)
            except TimeoutError:
                INGEST_REFUSED.labels(source="gelf_tcp", reason="idle_timeout").inc()
                return
            if not chunk:
                break
            complete, dropped = frames.feed(chunk)
            if dropped:
                INGEST_REFUSED.labels(source="gelf_tcp", reason="frame_too_large").inc(dropped)
            for frame in complete:
                if frame.strip():
                    intake.take(frame, "gelf_tcp")
        last = frames.rest()
        if last.strip():
            intake.take(last, "gelf_tcp")  # the last frame of a client that just closed
    except ConnectionError:
        pass


class GelfServer:
    """The UDP and TCP listeners on one event loop, in a thread of their own."""

    def __init__(self, config: LogsConfig, publish: Publish = publish_log_batch) -> None:
        self.config = config
        self.publisher = BatchPublisher(
            publish,
            source="gelf",
            capacity=config.gelf_buffer,
            batch_size=config.gelf_publish_batch,
        )
        self.intake = GelfIntake(config, self.publisher)
        self.assembler = ChunkAssembler(
            timeout=config.gelf_chunk_timeout,
            max_pending=config.gelf_max_pending_messages,
            max_message_bytes=config.gelf_max_message_bytes,
            max_held_bytes=config.gelf_max_pending_bytes,
            dropped=lambda reason: INGEST_REFUSED.labels(source="gelf_udp", reason=reason).inc(),
        )
        self.tcp_connections = 0
        self.udp_port = 0
        self.tcp_port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="gelf", daemon=True)
        self._closers: list[Any] = []

    def start(self) -> None:
        """Bind both listeners (raises if the port is taken) and start serving."""
        self.publisher.start()
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._bind(), self._loop).result(timeout=10)
        logger.info("GELF listening on udp:{} and tcp:{}", self.udp_port, self.tcp_port)

    async def _bind(self) -> None:
        host, port = self.config.gelf_host, self.config.gelf_port
        # Port 0 (tests) asks for any free port: UDP picks one, TCP takes the same number,
        # and a number already taken on TCP is given back and another tried.
        attempts = 20 if port == 0 else 1
        # A named port is shared (SO_REUSEPORT) with the other slot of a blue/green deploy:
        # the new release listens before the old one stops, so no message finds it closed.
        shared = port != 0
        for attempt in range(attempts):
            transport, _ = await self._loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self.intake, self.assembler),
                local_addr=(host, port),
                reuse_port=shared,
            )
            udp_port = transport.get_extra_info("sockname")[1]
            try:
                server = await asyncio.start_server(
                    self._serve_tcp, host, udp_port, reuse_port=shared
                )
            except OSError:
                transport.close()
                if attempt == attempts - 1:
                    raise
                continue
            self._closers.extend([transport, server])
            self.udp_port = udp_port
            self.tcp_port = server.sockets[0].getsockname()[1]
            break
        self._loop.call_later(EXPIRY_CHECK_INTERVAL, self._expire_chunks)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # One event loop serves every connection, so this count needs no lock.
        if self.tcp_connections >= self.config.gelf_tcp_max_connections:
            INGEST_REFUSED.labels(source="gelf_tcp", reason="too_many_connections").inc()
            writer.close()
            return
        self.tcp_connections += 1
        GELF_TCP_CONNECTIONS.inc()
        try:
            await _serve_tcp_client(self.intake, self.config, reader)
        finally:
            self.tcp_connections -= 1
            GELF_TCP_CONNECTIONS.dec()
            writer.close()

    def _expire_chunks(self) -> None:
        expired = self.assembler.expire(time.monotonic())
        GELF_CHUNK_BYTES_HELD.set(self.assembler.held_bytes)
        if expired:
            INGEST_REFUSED.labels(source="gelf_udp", reason="chunks_incomplete").inc(expired)
        self._loop.call_later(EXPIRY_CHECK_INTERVAL, self._expire_chunks)

    def stop(self) -> None:
        async def close() -> None:
            for closer in self._closers:
                closer.close()
            # Connections still open end here, while the loop can still run their cleanup.
            current = asyncio.current_task()
            clients = [task for task in asyncio.all_tasks() if task is not current]
            for task in clients:
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self.publisher.stop()


def main() -> None:
    init_process("logs")
    server = GelfServer(load_logs_config())
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    server.start()
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()
