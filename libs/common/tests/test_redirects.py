"""The one check of where a sign-in sends the browser next."""

from __future__ import annotations

import pytest

from loom_common.redirects import safe_redirect_target
from loom_common.testing import OPEN_REDIRECT_PAYLOADS


@pytest.mark.parametrize("target", OPEN_REDIRECT_PAYLOADS)
def test_anything_that_could_leave_the_site_falls_back(target: str) -> None:
    assert safe_redirect_target(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/projects", "/projects/3?tab=tasks&q=a%20b", "/issues#top"])
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert safe_redirect_target(target, "/home") == target


def test_no_target_falls_back() -> None:
    assert safe_redirect_target(None, "/home") == "/home"
    assert safe_redirect_target("", "/home") == "/home"
