"""Storing batches without a broker: bad records are rejected alone and counted."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import orjson
from conftest import all_stored
from loguru import logger
from prometheus_client import REGISTRY

from loom_common.db import Database
from loom_common.log_records import record_to_dict
from loom_logs.store.insert import store_records

RecordFactory = Callable[..., dict[str, Any]]


def _rejected(reason: str) -> float:
    return REGISTRY.get_sample_value("loom_logs_records_rejected_total", {"reason": reason}) or 0.0


def _stored() -> float:
    return REGISTRY.get_sample_value("loom_logs_records_stored_total") or 0.0


def _messages(database: Database) -> list[str]:
    return [row.message for row in all_stored(database)]


def test_bad_records_are_rejected_alone_and_counted(
    database: Database, make_record: RecordFactory
) -> None:
    stored_before = _stored()
    before = {
        r: _rejected(r) for r in ("not_a_dict", "missing_time", "invalid_time", "invalid_line")
    }
    batch: list[Any] = [
        make_record(message="first good"),
        "not a record",
        make_record(message="null time", time=None),
        {key: value for key, value in make_record(message="time missing").items() if key != "time"},
        make_record(message="bad time", time="yesterday-ish"),
        make_record(message="bad line", line="forty-two"),
        make_record(message="second good"),
    ]

    with database.session() as session:
        result = store_records(session, batch)

    assert (result.stored, result.rejected) == (2, 5)
    assert result.reasons == {
        "not_a_dict": 1,
        "invalid_time": 2,
        "missing_time": 1,
        "invalid_line": 1,
    }
    assert _messages(database) == ["first good", "second good"]
    assert _stored() - stored_before == 2
    assert _rejected("not_a_dict") - before["not_a_dict"] == 1
    assert _rejected("invalid_time") - before["invalid_time"] == 2
    assert _rejected("missing_time") - before["missing_time"] == 1
    assert _rejected("invalid_line") - before["invalid_line"] == 1


def test_a_missing_message_or_wrong_field_types_reject(
    database: Database, make_record: RecordFactory
) -> None:
    good = make_record()
    bad = [
        {key: value for key, value in good.items() if key != "message"},
        make_record(message=123),
        make_record(fields=["not", "a", "dict"]),
        make_record(service=7),
        make_record(line=True),
        make_record(process=2**40),
        make_record(service="s" * 101),
        make_record(fields=_nested(300)),
    ]
    with database.session() as session:
        result = store_records(session, bad)
    assert (result.stored, result.rejected) == (0, len(bad))
    assert result.reasons["missing_message"] == 1
    assert result.reasons["invalid_message"] == 1


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"inner": value}
    return value


def test_a_batch_that_is_not_a_list_is_rejected_whole(database: Database) -> None:
    with database.session() as session:
        result = store_records(session, {"time": "2030-01-01T00:00:00Z", "message": "x"})  # type: ignore[arg-type]
    assert (result.stored, result.rejected, result.reasons) == (0, 1, {"not_a_list": 1})


def test_values_are_normalised(database: Database, make_record: RecordFactory) -> None:
    records = [
        make_record(message="naive", time="2030-01-01T12:00:00", level="warning"),
        make_record(message="offset", time="2030-01-01T14:00:00+02:00", level="NOTICE"),
        make_record(message="nul\x00byte", fields={"user": 7, "tags": ["a"]}),
        make_record(message="sparse") | {"host": None, "fields": None, "logger": None},
    ]
    with database.session() as session:
        store_records(session, records)
    rows = {row.message: row for row in all_stored(database)}

    assert rows["naive"].time.isoformat() == "2030-01-01T12:00:00+00:00"
    assert (rows["naive"].level, rows["naive"].level_no) == ("WARNING", 30)
    assert rows["offset"].time.isoformat() == "2030-01-01T12:00:00+00:00"
    assert (rows["offset"].level, rows["offset"].level_no) == (
        "NOTICE",
        20,
    )  # unknown ranks as INFO
    assert orjson.loads(rows["nul\ufffdbyte"].fields) == {"user": 7, "tags": ["a"]}
    assert orjson.loads(rows["sparse"].fields) == {}


def test_a_multiline_exception_stays_one_record(
    database: Database, store: Callable[[list[Any]], None]
) -> None:
    marker = secrets.token_hex(4)
    captured: list[dict[str, Any]] = []
    sink = logger.add(
        lambda message: captured.append(record_to_dict(message.record)),
        filter=lambda record: record["extra"].get("marker") == marker,
    )
    try:
        try:
            raise ValueError("first line\nsecond line")
        except ValueError:
            logger.bind(marker=marker).exception("it broke\nwhile doing {}", "work")
    finally:
        logger.remove(sink)

    store(captured)

    (row,) = all_stored(database)
    assert row.message == "it broke\nwhile doing work"
    assert row.level == "ERROR"
    assert row.exception is not None
    assert row.exception.startswith("Traceback")
    assert "ValueError: first line\nsecond line" in row.exception
    assert orjson.loads(row.fields) == {"marker": marker}
