"""one_line: header values from data fit on one bounded line."""

from __future__ import annotations

from email.message import EmailMessage

from loom_common.mail_headers import one_line


def test_newlines_and_runs_of_whitespace_become_one_space() -> None:
    assert one_line("a\nb\r\n  c\u2028d\te") == "a b c d e"


def test_a_long_value_is_cut_with_an_ellipsis() -> None:
    value = one_line("x" * 500, limit=10)
    assert value == "x" * 9 + "…"


def test_an_email_message_accepts_what_it_gives() -> None:
    message = EmailMessage()
    message["Subject"] = one_line("ValidationError: 1 validation error\nfield required")
    assert message["Subject"] == "ValidationError: 1 validation error field required"
