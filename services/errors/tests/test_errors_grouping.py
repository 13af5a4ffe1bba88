"""Grouping: which events share an issue, and how issues are labelled."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from loom_errors.ingest.sentry_event import parse_event
from loom_errors.store.grouping import fingerprint, normalize_text
from loom_errors.store.summary import culprit, issue_title


def parse_amount(text: str) -> int:
    return int(text)


def parse_quantity(text: str) -> int:
    return int(text)


def load_order(orders: dict[str, Any], key: str) -> Any:
    return orders[key]


def key_of(event: dict[str, Any]) -> str:
    return fingerprint(parse_event(event))


def frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = event["exception"]["values"][-1]["stacktrace"]["frames"]
    return frames


def test_the_same_bug_raised_from_different_lines_groups_together(sentry_events: Any) -> None:
    try:
        parse_amount("abc")
    except ValueError as error:
        first = sentry_events.exception(error)
    try:
        parse_amount("xyz")  # another line of the caller, another value
    except ValueError as error:
        second = sentry_events.exception(error)

    assert frames(first)[0]["lineno"] != frames(second)[0]["lineno"]
    assert key_of(first) == key_of(second)


def test_code_moved_down_the_file_keeps_its_group(sentry_events: Any) -> None:
    try:
        parse_amount("abc")
    except ValueError as error:
        before = sentry_events.exception(error)
    after_edit = copy.deepcopy(before)
    after_edit["event_id"] = "0" * 32
    for frame in frames(after_edit):
        frame["lineno"] += 40

    assert key_of(before) == key_of(after_edit)


def test_different_bugs_group_apart(sentry_events: Any) -> None:
    try:
        parse_amount("abc")
    except ValueError as error:
        amount = sentry_events.exception(error)
    try:
        parse_quantity("abc")
    except ValueError as error:
        quantity = sentry_events.exception(error)
    try:
        load_order({}, "A-1")
    except KeyError as error:
        missing = sentry_events.exception(error)

    assert len({key_of(amount), key_of(quantity), key_of(missing)}) == 3


def test_a_chained_exception_groups_by_the_one_raised(sentry_events: Any) -> None:
    def fetch() -> None:
        try:
            load_order({}, "A-1")
        except KeyError as error:
            raise LookupError("order A-1 is gone") from error

    try:
        fetch()
    except LookupError as error:
        event = sentry_events.exception(error)

    assert [value["type"] for value in event["exception"]["values"]] == ["KeyError", "LookupError"]
    assert issue_title(parse_event(event)) == "LookupError: order A-1 is gone"


def test_without_in_app_frames_all_frames_group(sentry_events: Any) -> None:
    events = []
    for order in ("42", "1337"):
        try:
            load_order({}, f"order {order} at 0x7f3a{order}")
        except KeyError as error:
            event = sentry_events.exception(error)
        for frame in frames(event):
            frame["in_app"] = False  # as if raised inside a library
        events.append(event)
    try:
        parse_quantity("many")
    except ValueError as error:
        other = sentry_events.exception(error)
    for frame in frames(other):
        frame["in_app"] = False

    assert key_of(events[0]) == key_of(events[1])  # same library frames, other values
    assert key_of(events[0]) != key_of(other)


def test_without_a_stack_trace_the_value_groups_with_its_variable_parts_masked() -> None:
    def raised(value: str) -> dict[str, Any]:
        return {
            "event_id": uuid.uuid4().hex,
            "exception": {"values": [{"type": "TimeoutError", "value": value}]},
        }

    first = raised("no answer from 10.0.0.7 for job 9f86d081884c after 30 s")
    second = raised("no answer from 10.0.0.12 for job 2c26b46b68ff after 45 s")
    other = raised("pool exhausted after 30 s")

    assert key_of(first) == key_of(second)
    assert key_of(first) != key_of(other)


def test_messages_group_with_numbers_hex_and_uuids_masked(sentry_events: Any) -> None:
    first = sentry_events.message("payment 42 failed for 3f2b8c1e-9d4a-4f6e-8b1a-2c3d4e5f6a7b")
    second = sentry_events.message("payment 97 failed for 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    refund = sentry_events.message("refund 42 failed for 3f2b8c1e-9d4a-4f6e-8b1a-2c3d4e5f6a7b")

    assert key_of(first) == key_of(second)
    assert key_of(first) != key_of(refund)


def test_a_logged_message_groups_by_its_template() -> None:
    def logged(user: str, event_id: str) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "level": "warning",
            "logentry": {
                "message": "login refused for %s",
                "formatted": f"login refused for {user}",
            },
        }

    assert key_of(logged("bob", "a" * 32)) == key_of(logged("alice", "b" * 32))
    assert issue_title(parse_event(logged("bob", "a" * 32))) == "login refused for bob"


def test_an_explicit_fingerprint_overrides_the_default(sentry_events: Any) -> None:
    try:
        parse_amount("abc")
    except ValueError as error:
        amount = sentry_events.exception(error, fingerprint=["payment-gateway"])
        plain = sentry_events.exception(error)
    try:
        load_order({}, "A-1")
    except KeyError as error:
        missing = sentry_events.exception(error, fingerprint=["payment-gateway"])

    assert key_of(amount) == key_of(missing)
    assert key_of(amount) != key_of(plain)


def test_default_in_a_fingerprint_stands_for_the_default_grouping(sentry_events: Any) -> None:
    try:
        parse_amount("abc")
    except ValueError as error:
        plain = sentry_events.exception(error)
        only_default = sentry_events.exception(error, fingerprint=["{{ default }}"])
        tenant_a = sentry_events.exception(error, fingerprint=["{{ default }}", "tenant-a"])
        tenant_b = sentry_events.exception(error, fingerprint=["{{default}}", "tenant-b"])
    try:
        parse_amount("xyz")
    except ValueError as error:
        tenant_a_again = sentry_events.exception(error, fingerprint=["{{ default }}", "tenant-a"])

    assert key_of(only_default) == key_of(plain)
    assert key_of(tenant_a) != key_of(tenant_b)
    assert key_of(tenant_a) == key_of(tenant_a_again)
    assert key_of(tenant_a) != key_of(plain)


def test_title_and_culprit_name_the_exception_and_the_innermost_app_frame(
    sentry_events: Any,
) -> None:
    try:
        parse_amount("abc")
    except ValueError as error:
        event = parse_event(sentry_events.exception(error))

    assert issue_title(event) == "ValueError: invalid literal for int() with base 10: 'abc'"
    assert culprit(event) == f"{__name__}.parse_amount"


def test_without_frames_the_culprit_is_the_transaction() -> None:
    event = parse_event({"event_id": "c" * 32, "message": "slow", "transaction": "api.hello"})

    assert culprit(event) == "api.hello"


def test_a_long_title_is_cut_to_fit_its_column(sentry_events: Any) -> None:
    event = parse_event(sentry_events.message("x" * 1000 + "\nsecond line"))

    title = issue_title(event)
    assert len(title) == 255
    assert title.endswith("…")


def test_normalize_text_masks_the_parts_that_vary() -> None:
    text = (
        "user 12 at 0xDEADbeef id 3f2b8c1e-9d4a-4f6e-8b1a-2c3d4e5f6a7b took 3.5  s, sha 9f86d081a3"
    )

    assert normalize_text(text) == "user <num> at <hex> id <uuid> took <num> s, sha <hex>"
    assert normalize_text("cafe facade") == "cafe facade"  # words made of hex letters stay
