"""dev, staging and production set the same keys, and production passes the production
checks of loom_common.settings once its secrets are filled in."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from loom_common.settings import SERVICES, SettingsError, load_settings

ENVIRONMENTS = Path(__file__).resolve().parents[1] / "environments"
_spec = importlib.util.spec_from_file_location(
    "loom_settings_filters", ENVIRONMENTS.parent / "ansible" / "filter_plugins" / "loom_settings.py"
)
assert _spec and _spec.loader
filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(filters)  # the very functions the deploy uses


def read(environment: str) -> dict[str, str]:
    return filters.parse_env((ENVIRONMENTS / environment / "settings.env").read_text())


def dummy_secrets() -> dict[str, str]:
    names = filters.parse_env((ENVIRONMENTS / "secrets.example.env").read_text())
    # Long enough for the production checks, and different for every name.
    return {name: f"dummy-{name.lower().replace('_', '-')}-{name.encode().hex()}" for name in names}


def load(environment: str, service: str, **changes: str) -> object:
    values = filters.settings_for_service(
        filters.expand_secrets(read(environment), dummy_secrets()), service
    )
    values |= changes
    fields = {key.removeprefix("LOOM_").lower(): value for key, value in values.items()}
    return load_settings(service, **fields)


def test_every_environment_sets_the_same_keys() -> None:
    keys = {environment: set(read(environment)) for environment in ("dev", "staging", "production")}
    assert keys["dev"] == keys["staging"] == keys["production"]


def test_every_secret_named_in_settings_is_listed_in_the_example() -> None:
    listed = set(dummy_secrets())
    for environment in ("dev", "staging", "production"):
        assert filters.secret_names(read(environment)) <= listed, environment


@pytest.mark.parametrize("environment", ["dev", "staging", "production"])
@pytest.mark.parametrize("service", SERVICES)
def test_settings_load_for_every_service(environment: str, service: str) -> None:
    settings = load(environment, service)
    assert settings.env == environment  # type: ignore[attr-defined]


def test_production_uses_postgresql_redis_and_a_real_smtp_relay() -> None:
    for service in SERVICES:
        settings = load("production", service)
        assert settings.database_url(service).startswith("postgresql")  # type: ignore[attr-defined]
        assert settings.database_replica_urls(service)  # type: ignore[attr-defined]
        assert settings.cache_url.startswith("redis://")  # type: ignore[attr-defined]
        assert settings.smtp_url.startswith("smtp+starttls://")  # type: ignore[attr-defined]


def test_production_checks_do_reject_what_they_should() -> None:
    # The same files with one value swapped for a dev one are refused: the check is live.
    with pytest.raises(SettingsError, match="LOOM_SMTP_URL"):
        load("production", "web", LOOM_SMTP_URL="smtp://127.0.0.1:1025")
    with pytest.raises(SettingsError, match="LOOM_WEB_DATABASE_URL"):
        load("production", "web", LOOM_WEB_DATABASE_URL="sqlite:///var/web.db")
    with pytest.raises(SettingsError, match="LOOM_API_TOKEN"):
        load("staging", "web", LOOM_API_TOKEN="dev-api-token")


def test_a_service_gets_only_its_own_database_credentials() -> None:
    values = filters.settings_for_service(read("production"), "web")
    assert "LOOM_WEB_DATABASE_URL" in values
    assert not [
        key for key in values if key.startswith(("LOOM_WORKER_DATABASE", "LOOM_LOGS_DATABASE"))
    ]


def test_a_missing_secret_is_named_without_any_value() -> None:
    secrets = dummy_secrets()
    del secrets["BROKER_PASSWORD"]
    with pytest.raises(filters.SettingsFileError, match="BROKER_PASSWORD") as raised:
        filters.expand_secrets(read("production"), secrets)
    assert "dummy" not in str(raised.value)
