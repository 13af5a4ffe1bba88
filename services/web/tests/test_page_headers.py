"""Every web page says it may not be framed and may run no script; pages that show a secret
are never stored by a browser or proxy."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from web_helpers import Person, post_form


def test_every_page_has_a_content_security_policy_and_refuses_framing(
    client: FlaskClient, make_person: Callable[..., Person]
) -> None:
    ada = make_person("Ada")
    for browser, path in ((client, "/"), (client, "/login"), (ada.client, "/projects")):
        response = browser.get(path)
        assert response.status_code == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'none'" in policy, path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "same-origin", path
    api = client.get("/api/hello?name=Ada")
    assert "Content-Security-Policy" not in api.headers  # JSON, not a page


def test_the_settings_page_that_shows_a_new_token_is_not_stored(
    make_person: Callable[..., Person],
) -> None:
    ada = make_person("Ada")
    shown = post_form(ada.client, "/settings", "/settings", {"name": "laptop"})
    assert 'id="new-token"' in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    assert "no-store" not in ada.client.get("/projects").headers.get("Cache-Control", "")
