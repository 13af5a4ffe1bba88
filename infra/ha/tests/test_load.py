"""The load's accounting, on attempts and findings made up for it (no topology needed): what
the fault tests' figures are computed from."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from load import Attempt, Load, Targets, failure_window

TARGETS = Targets(urls={}, api_token="t", dsn="http://0123456789abcdef@127.0.0.1:1/7")


def test_no_failure_means_whole_all_along() -> None:
    attempts = [Attempt("jobs", at, "accepted", 202, str(at)) for at in (1.0, 2.0)]
    assert failure_window(attempts, fault_at=1.5) == {
        "failures": 0,
        "failing_seconds": 0.0,
        "seconds_until_whole": 0.0,
    }


def test_whole_again_at_the_first_success_after_the_last_failure() -> None:
    attempts = [
        Attempt("jobs", 1.0, "accepted", 202, "a"),
        Attempt("jobs", 2.0, "failed"),
        Attempt("logs", 2.5, "accepted", 202, "b"),  # a success between failures
        Attempt("errors", 3.0, "refused", 503),
        Attempt("jobs", 4.5, "accepted", 202, "c"),
    ]
    window = failure_window(attempts, fault_at=1.5)
    assert window == {"failures": 2, "failing_seconds": 1.0, "seconds_until_whole": 3.0}


def test_still_failing_at_the_end_has_no_whole_time() -> None:
    window = failure_window([Attempt("jobs", 1.0, "failed")], fault_at=0.5)
    assert window["seconds_until_whole"] is None


def test_lost_and_duplicates_are_counted_per_item() -> None:
    load = Load(TARGETS, kinds=("logs",))
    load.attempts += [
        Attempt("logs", 1.0, "accepted", 202, "m1"),
        Attempt("logs", 2.0, "accepted", 202, "m2"),
        Attempt("logs", 3.0, "accepted", 202, "m3"),
        Attempt("logs", 4.0, "refused", 503),
        Attempt("logs", 5.0, "failed"),
    ]
    found = {"m1": {"done": True, "copies": 1}, "m2": {"done": True, "copies": 3}}
    report = load._count("logs", found)
    assert (report.sent, report.accepted, report.refused, report.failed) == (5, 3, 1, 1)
    assert (report.stored, report.lost, report.duplicates) == (2, 1, 2)
    assert report.lost_items == ["m3"]
    assert report.statuses == {"503": 1}


def test_a_job_not_finished_is_lost_and_a_second_run_is_a_rerun() -> None:
    load = Load(TARGETS, kinds=("jobs",))
    load.attempts += [Attempt("jobs", 1.0, "accepted", 202, j) for j in ("j1", "j2")]
    found = {
        "j1": {"done": True, "copies": 1, "runs": 2},
        "j2": {"done": False, "copies": 1, "runs": 1},
    }
    report = load._count("jobs", found)
    assert (report.stored, report.lost, report.duplicates, report.reruns) == (1, 1, 0, 1)
