"""``make up`` (infra/dev/up.py): what it tells the developer."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from loom_common.settings import load_settings

UP = Path(__file__).resolve().parents[1] / "dev" / "up.py"


@pytest.fixture
def up() -> ModuleType:
    spec = importlib.util.spec_from_file_location("loom_dev_up", UP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_token_printed_is_the_one_the_services_use(
    up: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOOM_ENV", "dev")
    monkeypatch.setenv("LOOM_API_TOKEN", "my-own-operator-token-0123456789")
    monkeypatch.setattr(up, "default_dsn", lambda: None)  # no errors service to ask here

    up.print_urls(["  web     http://127.0.0.1:8000"], load_settings())

    printed = capsys.readouterr().out
    assert "sign in with the token: my-own-operator-token-0123456789" in printed
    assert "dev-api-token" not in printed


def test_without_a_reachable_management_api_it_says_how_to_enable_it(
    up: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOOM_ENV", "dev")
    monkeypatch.setenv("LOOM_BROKER_MANAGEMENT_URL", "http://guest:guest@rabbit.invalid:15672")

    assert up.ensure_management_api(load_settings()) is False

    printed = capsys.readouterr().out
    assert "not answering at rabbit.invalid:15672" in printed
    assert "rabbitmq-plugins enable rabbitmq_management" in printed
