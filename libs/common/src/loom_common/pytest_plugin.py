"""Fixtures every service's tests share: ``pytest_plugins = ["loom_common.pytest_plugin"]``.

- ``broker_url``: a fresh RabbitMQ vhost for the test session (deleted after).
- ``drain_queue(name)``: the decoded messages waiting in a queue of that vhost.
- ``operator_headers``: the bearer token header that test settings accept.
- ``browser`` and ``screenshot(name)``: headless Chromium for page tests, PNGs kept as artifacts.
- ``make_settings(service, **overrides)``: test settings with a temporary ``var/`` folder and
  that vhost, with the service's migrations applied to its SQLite database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest

from loom_common.broker_urls import connect
from loom_common.migrations import upgrade
from loom_common.settings import DEFAULT_API_TOKEN, Settings, load_settings
from loom_common.testing import temporary_vhost


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    with temporary_vhost() as url:
        yield url


@pytest.fixture
def make_settings(tmp_path: Path, broker_url: str) -> Callable[..., Settings]:
    def build(service: str, migrate: bool = True, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "var_dir": tmp_path / "var",
            "broker_url": broker_url,
            "log_ship_interval": 0.2,
        }
        values.update(overrides)
        settings = load_settings(service, **values)
        if migrate:
            upgrade(service, settings.database_url(service))
        return settings

    return build


@pytest.fixture
def operator_headers() -> dict[str, str]:
    """The Authorization header with the operator token that test settings use."""
    return {"Authorization": f"Bearer {DEFAULT_API_TOKEN}"}


@pytest.fixture
def drain_queue(broker_url: str) -> Callable[[str], list[dict[str, Any]]]:
    """``drain_queue(name)``: every message waiting in that queue of the test vhost, taken off
    it and decoded as Dramatiq does."""

    def drain(queue: str) -> list[dict[str, Any]]:
        connection = connect(broker_url)
        try:
            channel = connection.channel()
            channel.queue_declare(queue, passive=True)
            messages: list[dict[str, Any]] = []
            while True:
                _method, _properties, body = channel.basic_get(queue, auto_ack=True)
                if body is None:
                    return messages
                messages.append(dramatiq.get_encoder().decode(body))
        finally:
            connection.close()

    return drain


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by selenium (``apt-get install chromium chromium-driver``).

    Skips, naming the missing package, where the browser is not installed.
    """
    import shutil

    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("browser tests need Debian's chromium and chromium-driver packages")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests run as root in CI
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


@pytest.fixture
def screenshot(browser: Any, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """``screenshot(name)``: keep a PNG of the browser's page under ``artifacts/screenshots/``."""
    folder = Path(request.config.rootpath) / "artifacts" / "screenshots"

    def take(name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return take
