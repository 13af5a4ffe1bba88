"""How every service's app holds its settings and its own config, and the process set-up that
``create_app`` asks for once per process and settings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sentry_sdk
from flask import Flask
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from loom_common import flask_app
from loom_common.log_setup import current_shipper
from loom_common.openapi import make_spec
from loom_common.runtime import init_process
from loom_common.settings import Settings, SettingsError, load_config
from loom_common.testing import reconfigure


class ProbeConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOM_PROBE_", extra="ignore", frozen=True)

    greeting: str = "hello"
    max_items: int = Field(default=10, ge=1)


class OtherConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOM_OTHER_", extra="ignore", frozen=True)


def _app(settings: Settings, config: ProbeConfig) -> Flask:
    app = Flask("probe")

    @app.get("/greeting")
    def greeting() -> dict[str, object]:
        config = flask_app.current_config(ProbeConfig)
        return {"greeting": config.greeting, "service": flask_app.current_settings().service}

    flask_app.init_app(app, settings, config=config, spec=make_spec("probe"))
    return app


def test_two_apps_in_one_process_each_read_their_own_config(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings("web", migrate=False)
    first = _app(settings, ProbeConfig(greeting="hello"))
    second = _app(settings, ProbeConfig(greeting="bonjour"))

    assert first.test_client().get("/greeting").json == {"greeting": "hello", "service": "web"}
    assert second.test_client().get("/greeting").json == {"greeting": "bonjour", "service": "web"}
    assert flask_app.service_config(second, ProbeConfig).greeting == "bonjour"
    assert flask_app.app_settings(first) is settings


def test_asking_for_another_kind_of_config_fails_naming_both(
    make_settings: Callable[..., Settings],
) -> None:
    app = _app(make_settings("web", migrate=False), ProbeConfig())
    with pytest.raises(TypeError, match="holds a ProbeConfig, not a OtherConfig"):
        flask_app.service_config(app, OtherConfig)


def test_reconfigure_changes_what_the_views_read(make_settings: Callable[..., Settings]) -> None:
    app = _app(make_settings("web", migrate=False), ProbeConfig())
    reconfigure(app, greeting="hi")
    assert app.test_client().get("/greeting").json["greeting"] == "hi"  # type: ignore[index]


def test_a_bad_config_value_stops_the_process_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOOM_PROBE_MAX_ITEMS", "0")
    with pytest.raises(SettingsError, match="invalid setting LOOM_PROBE_MAX_ITEMS"):
        load_config(ProbeConfig)
    assert load_config(ProbeConfig, max_items=3).max_items == 3


def test_init_process_sets_up_capture_once_for_the_same_settings(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings("web", migrate=False, capture_errors=True)
    init_process("web", settings)
    transport = sentry_sdk.get_client().transport
    shipper = current_shipper()

    # Another app made from the same settings (tests make many) keeps the process as it is:
    # no second capture thread, nor a new Sentry client dropping what the first one holds.
    assert init_process("web", settings.model_copy()) == settings
    assert init_process("web") == settings
    assert sentry_sdk.get_client().transport is transport
    assert current_shipper() is shipper

    # Other settings set capture up again.
    other = settings.model_copy(update={"release": "other-release"})
    assert init_process("web", other) is other
    assert sentry_sdk.get_client().transport is not transport
    assert sentry_sdk.get_client().options["release"] == "other-release"
