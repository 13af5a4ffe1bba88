"""Through the real RabbitMQ: loguru -> LogShipper -> logs queue -> ingest actor -> search API."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from types import ModuleType
from typing import Any

from conftest import all_stored
from flask.testing import FlaskClient
from loguru import logger
from prometheus_client import REGISTRY

from loom_common.broker import send
from loom_common.contracts import LOGS_ACTOR, LOGS_QUEUE
from loom_common.db import Database
from loom_common.log_setup import current_shipper
from loom_common.settings import Settings
from loom_common.testing import wait_until
from loom_logs.models import LogRow

RecordFactory = Callable[..., dict[str, Any]]


def _rejected(reason: str) -> float:
    return REGISTRY.get_sample_value("loom_logs_records_rejected_total", {"reason": reason}) or 0.0


def _count(database: Database, wanted: Callable[[LogRow], bool] = lambda row: True) -> int:
    return sum(1 for row in all_stored(database) if wanted(row))


def test_log_lines_arrive_searchable_and_storing_them_ships_nothing(
    consumer: ModuleType,
    client: FlaskClient,
    auth: dict[str, str],
    database: Database,
    settings: Settings,
    make_record: RecordFactory,
) -> None:
    shipper = current_shipper()
    assert shipper is not None, "logging in tests must ship (LOOM_SHIP_LOGS)"
    marker = secrets.token_hex(6)
    request_id = f"req-{marker}"
    not_a_dict_before = _rejected("not_a_dict")

    logger.bind(request_id=request_id, step=1).info("e2e {} started", marker)
    logger.warning("e2e {} is slow", marker)
    try:
        raise RuntimeError("first line\nsecond line")
    except RuntimeError:
        logger.exception("e2e {} failed\nwith a second message line", marker)
    send(LOGS_QUEUE, LOGS_ACTOR, records=[make_record(message=f"e2e {marker} direct"), "junk"])

    def searchable() -> list[dict[str, Any]]:
        response = client.get("/api/logs", query_string={"q": f"e2e {marker}"}, headers=auth)
        items: list[dict[str, Any]] = response.get_json()["items"]
        return items if len(items) == 4 else []

    items = wait_until(searchable, timeout=20, message="the four e2e records to be searchable")
    by_message = {item["message"].split("\n")[0]: item for item in items}
    assert set(by_message) == {
        f"e2e {marker} started",
        f"e2e {marker} is slow",
        f"e2e {marker} failed",
        f"e2e {marker} direct",
    }
    started = by_message[f"e2e {marker} started"]
    assert (started["service"], started["request_id"], started["fields"]) == (
        "logs",
        request_id,
        {"step": 1},
    )
    failed = by_message[f"e2e {marker} failed"]
    assert failed["level"] == "ERROR"
    assert failed["message"] == f"e2e {marker} failed\nwith a second message line"
    assert "RuntimeError: first line\nsecond line" in failed["exception"]
    assert _rejected("not_a_dict") - not_a_dict_before == 1

    by_request = client.get("/api/logs", query_string={"request_id": request_id}, headers=auth)
    assert [item["message"] for item in by_request.get_json()["items"]] == [f"e2e {marker} started"]

    # A batch per batch would keep the count climbing: wait until it holds still across two
    # shipping intervals with nothing left to ship.
    last_count = [-1]

    def settled() -> bool:
        count = _count(database)
        previous, last_count[0] = last_count[0], count
        return shipper.pending == 0 and count == previous

    wait_until(
        settled,
        timeout=20,
        interval=2 * settings.log_ship_interval + 0.1,
        message="the stored record count to stop growing",
    )
    assert _count(database, lambda row: row.message.startswith(f"job {LOGS_ACTOR} ")) == 0
    assert _count(database, lambda row: row.logger == "loom_logs.store.insert") == 0
