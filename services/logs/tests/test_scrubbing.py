"""Secrets are scrubbed from log records at ingest, whichever way they come in: the message,
the exception text and the fields (senders outside Loom scrub nothing)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from types import ModuleType
from typing import Any

import graypy
import orjson
import pytest
from conftest import all_stored
from flask.testing import FlaskClient

from loom_common.broker import send
from loom_common.contracts import LOGS_ACTOR, LOGS_QUEUE
from loom_common.db import Database
from loom_logs.ingest.gelf_server import GelfServer

INGEST = {"Authorization": "Bearer ingest-token-1"}
SECRETS = ("bearer-secret-1", "field-secret-2", "db-secret-3", "token-secret-4")
SCRUBBED_FIELDS = {"password": "[Filtered]", "db": "postgresql://loom:[Filtered]@db/loom"}


def _message(marker: str) -> str:
    return f"scrub {marker} called with Authorization: Bearer bearer-secret-1"


def _fields() -> dict[str, Any]:
    return {"password": "field-secret-2", "db": "postgresql://loom:db-secret-3@db/loom"}


def _stdlib_logger(handler: logging.Handler) -> logging.Logger:
    named = logging.getLogger(f"scrub-test-{secrets.token_hex(4)}")
    named.propagate = False
    named.addHandler(handler)
    return named


class Inputs:
    """Each way a record comes in; each sends one record with secrets in it."""

    def __init__(
        self,
        client: FlaskClient,
        make_record: Callable[..., dict[str, Any]],
        request: pytest.FixtureRequest,
    ) -> None:
        self.client = client
        self.make_record = make_record
        self.request = request

    def _record(self, marker: str) -> dict[str, Any]:
        return self.make_record(
            message=_message(marker),
            fields=_fields(),
            exception="Traceback (most recent call last):\nValueError: token=token-secret-4",
        )

    def api_ingest(self, marker: str) -> None:
        response = self.client.post("/api/ingest", json=[self._record(marker)], headers=INGEST)
        assert response.status_code == 202

    def logs_queue(self, marker: str) -> None:
        send(LOGS_QUEUE, LOGS_ACTOR, records=[self._record(marker)])

    def gelf_http(self, marker: str) -> None:
        gelf = {f"_{name}": value for name, value in _fields().items()}
        body = {"version": "1.1", "host": "h", "short_message": _message(marker), **gelf}
        response = self.client.post("/gelf", data=orjson.dumps(body), headers=INGEST)
        assert response.status_code == 202

    def _graypy(self, handler: logging.Handler, marker: str) -> None:
        _stdlib_logger(handler).warning(_message(marker), extra=_fields())
        handler.close()

    def gelf_udp(self, marker: str) -> None:
        server: GelfServer = self.request.getfixturevalue("gelf_server")
        self._graypy(graypy.GELFUDPHandler("127.0.0.1", server.udp_port), marker)

    def gelf_tcp(self, marker: str) -> None:
        server: GelfServer = self.request.getfixturevalue("gelf_server")
        self._graypy(graypy.GELFTCPHandler("127.0.0.1", server.tcp_port), marker)

    def loki_push(self, marker: str) -> None:
        stream = {"service": "shop", **_fields()}
        body = {
            "streams": [{"stream": stream, "values": [["1893456000000000000", _message(marker)]]}]
        }
        response = self.client.post("/loki/api/v1/push", json=body, headers=INGEST)
        assert response.status_code == 204


@pytest.mark.parametrize(
    "way_in", ["api_ingest", "logs_queue", "gelf_http", "gelf_udp", "gelf_tcp", "loki_push"]
)
def test_a_record_is_stored_scrubbed_whichever_way_it_came_in(
    consumer: ModuleType,
    client: FlaskClient,
    database: Database,
    make_record: Callable[..., dict[str, Any]],
    found: Callable[..., list[dict[str, Any]]],
    request: pytest.FixtureRequest,
    way_in: str,
) -> None:
    marker = secrets.token_hex(6)
    getattr(Inputs(client, make_record, request), way_in)(marker)

    [item] = found(1, q=f"scrub {marker}")
    assert item["message"] == f"scrub {marker} called with Authorization: Bearer [Filtered]"
    assert {name: item["fields"][name] for name in SCRUBBED_FIELDS} == SCRUBBED_FIELDS
    [row] = [row for row in all_stored(database) if marker in row.message]
    stored = f"{row.message} {row.exception} {row.fields}"
    for secret in SECRETS:
        assert secret not in stored, secret
