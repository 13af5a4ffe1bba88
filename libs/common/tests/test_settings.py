"""One settings object from LOOM_* variables: bad values stop the process naming the variable,
and production refuses what is only fit for dev and test."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from loom_common.settings import (
    DEFAULT_API_TOKEN,
    DEFAULT_BROKER_URL,
    DEFAULT_SECRET_KEY,
    MIN_API_TOKEN_LENGTH,
    MIN_SECRET_KEY_LENGTH,
    load_settings,
)

POSTGRES_URL = "postgresql+psycopg://loom@db.internal:5432/loom_web"
BROKER_URL = "amqp://loom:a-generated-broker-password@rabbitmq-1.internal:5672/loom"
SECRET_KEY = "6f1d0c2b9a8e7d6c5b4a39281706f5e4d3c2b1a0"
API_TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LOOM_"):
            monkeypatch.delenv(name)


def _production(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    _deployed(monkeypatch, "production", **variables)


def _deployed(monkeypatch: pytest.MonkeyPatch, environment: str, **variables: str) -> None:
    values = {
        "LOOM_ENV": environment,
        "LOOM_SECRET_KEY": SECRET_KEY,
        "LOOM_API_TOKEN": API_TOKEN,
        "LOOM_BROKER_URL": BROKER_URL,
        "LOOM_WEB_DATABASE_URL": POSTGRES_URL,
        "LOOM_SMTP_URL": "smtp+starttls://relay.internal:587",
    }
    values.update(variables)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_defaults_load_in_dev() -> None:
    settings = load_settings("web")
    assert settings.env == "dev"
    assert settings.service == "web"
    assert settings.database_url("web").startswith("sqlite:///")


def test_variables_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _deployed(monkeypatch, "staging", LOOM_WEB_PORT="9123")
    settings = load_settings("web")
    assert settings.env == "staging"
    assert settings.port("web") == 9123


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOOM_ENV", "bogus"),
        ("LOOM_BROKER_URL", "http://127.0.0.1:5672/"),
        ("LOOM_BROKER_URL", "not a url"),
        ("LOOM_WEB_DATABASE_URL", "not a database url"),
        ("LOOM_SMTP_URL", "mail.example.com"),
        ("LOOM_SMTP_URL", "http://mail.example.com"),
        ("LOOM_WEB_PORT", "70000"),
    ],
)
def test_a_malformed_variable_stops_with_its_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings("web")
    assert variable in str(stopped.value)


def test_several_bad_variables_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_ENV", "bogus")
    monkeypatch.setenv("LOOM_SMTP_URL", "nope")
    with pytest.raises(SystemExit) as stopped:
        load_settings("web")
    assert "LOOM_ENV" in str(stopped.value)
    assert "LOOM_SMTP_URL" in str(stopped.value)


def test_production_refuses_the_dev_smtp_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch, LOOM_SMTP_URL="smtp://127.0.0.1:1025")
    with pytest.raises(SystemExit, match="LOOM_SMTP_URL: production needs a real SMTP relay"):
        load_settings("web")


def test_replica_urls_and_service_urls_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_WEB_DATABASE_REPLICA_URLS", f"{POSTGRES_URL}, {POSTGRES_URL}2 ,")
    monkeypatch.setenv("LOOM_WORKER_URL", "http://worker.internal:8001/")
    settings = load_settings("web")
    assert settings.database_replica_urls("web") == [POSTGRES_URL, POSTGRES_URL + "2"]
    assert settings.database_replica_urls("worker") == []
    assert settings.service_url("worker") == "http://worker.internal:8001"
    assert settings.service_url("logs") == "http://127.0.0.1:8003"


def test_a_valid_production_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch)
    settings = load_settings("web")
    assert settings.env == "production"
    assert settings.database_url("web") == POSTGRES_URL
    assert settings.json_logs


@pytest.mark.parametrize(
    ("variable", "value"),
    [("LOOM_SECRET_KEY", DEFAULT_SECRET_KEY), ("LOOM_API_TOKEN", DEFAULT_API_TOKEN)],
)
def test_production_refuses_a_default_secret(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    _production(monkeypatch, **{variable: value})
    with pytest.raises(SystemExit) as stopped:
        load_settings("web")
    assert variable in str(stopped.value)


@pytest.mark.parametrize("variable", ["LOOM_SECRET_KEY", "LOOM_API_TOKEN"])
def test_production_refuses_an_unset_secret(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    _production(monkeypatch)
    monkeypatch.delenv(variable)
    with pytest.raises(SystemExit) as stopped:
        load_settings("web")
    assert variable in str(stopped.value)


def test_production_refuses_sqlite_for_its_own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch, LOOM_WEB_DATABASE_URL="sqlite:////srv/loom/web.db")
    with pytest.raises(SystemExit) as stopped:
        load_settings("web")
    assert "LOOM_WEB_DATABASE_URL" in str(stopped.value)


def test_production_refuses_the_default_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch)
    monkeypatch.delenv("LOOM_WEB_DATABASE_URL")
    with pytest.raises(SystemExit) as stopped:
        load_settings("web")
    assert "LOOM_WEB_DATABASE_URL" in str(stopped.value)


def test_production_only_checks_its_own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    # The web process does not use the worker's database; an unset one must not stop it.
    _production(monkeypatch, LOOM_WORKER_DATABASE_URL="sqlite:////srv/loom/worker.db")
    assert load_settings("web").env == "production"


def test_staging_accepts_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    _deployed(monkeypatch, "staging", LOOM_WEB_DATABASE_URL="sqlite:////srv/loom/web.db")
    assert load_settings("web").database_url("web").startswith("sqlite")


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("LOOM_SECRET_KEY", DEFAULT_SECRET_KEY, "refuses the default secret key"),
        ("LOOM_API_TOKEN", DEFAULT_API_TOKEN, "refuses the default API token"),
        ("LOOM_BROKER_URL", DEFAULT_BROKER_URL, "refuses the dev default broker URL"),
        ("LOOM_SECRET_KEY", "k", f"needs at least {MIN_SECRET_KEY_LENGTH} characters (got 1)"),
        ("LOOM_SECRET_KEY", "s" * 31, f"needs at least {MIN_SECRET_KEY_LENGTH} characters"),
        ("LOOM_API_TOKEN", "t", f"needs at least {MIN_API_TOKEN_LENGTH} characters (got 1)"),
        ("LOOM_API_TOKEN", "t" * 23, f"needs at least {MIN_API_TOKEN_LENGTH} characters"),
    ],
)
def test_deployed_environments_refuse_dev_defaults_and_short_secrets(
    monkeypatch: pytest.MonkeyPatch, environment: str, variable: str, value: str, why: str
) -> None:
    _deployed(monkeypatch, environment, **{variable: value})
    with pytest.raises(SystemExit) as stopped:
        load_settings("web")
    assert f"{variable}: {environment} {why}" in str(stopped.value)


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_deployed_environments_refuse_a_secret_key_equal_to_the_token(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    _deployed(monkeypatch, environment, LOOM_SECRET_KEY=SECRET_KEY, LOOM_API_TOKEN=SECRET_KEY)
    with pytest.raises(SystemExit) as stopped:
        load_settings("web")
    assert "LOOM_SECRET_KEY: must differ from LOOM_API_TOKEN" in str(stopped.value)
    assert SECRET_KEY not in str(stopped.value), "the message must not print the secret"


@pytest.mark.parametrize(
    ("broker_url", "why"),
    [
        ("amqp://guest:a-generated-password@rabbitmq-1.internal:5672/loom", "guest user"),
        ("amqp://rabbitmq-1.internal:5672/loom", "guest user"),  # pika's default: guest
        ("amqp://loom:guest@rabbitmq-1.internal:5672/loom", "the broker user's password"),
        ("amqp://loom@rabbitmq-1.internal:5672/loom", "the broker user's password"),
        (f"{BROKER_URL};amqp://guest:guest@rabbitmq-2.internal:5672/loom", "guest user"),
    ],
)
def test_production_refuses_the_guest_broker_user_and_its_password(
    monkeypatch: pytest.MonkeyPatch, broker_url: str, why: str
) -> None:
    _production(monkeypatch, LOOM_BROKER_URL=broker_url)
    with pytest.raises(SystemExit) as stopped:
        load_settings("web")
    assert "LOOM_BROKER_URL: production" in str(stopped.value)
    assert why in str(stopped.value)
    assert "a-generated-password" not in str(stopped.value)


def test_staging_and_production_accept_generated_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for environment in ("staging", "production"):
        _deployed(monkeypatch, environment)
        assert load_settings("web").env == environment


def test_a_process_with_a_bad_variable_exits_naming_it() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    environment["LOOM_ENV"] = "bogus"
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            "from loom_common.settings import load_settings; load_settings('web')",
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0
    assert "LOOM_ENV" in finished.stderr
    assert "Traceback" not in finished.stderr, "a bad setting must read as a message, not a crash"
