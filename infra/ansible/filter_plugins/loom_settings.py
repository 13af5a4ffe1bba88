"""Filters that turn an environment's ``settings.env`` into one service's settings.

``settings.env`` is ``KEY=value`` lines (``#`` comments, blank lines); a value may name a
secret as ``${NAME}``, filled in from the environment's vault. The tests import these
functions too, so the deploy and the environment checks read the files the same way.
"""

from __future__ import annotations

import re
from typing import Any

SERVICES = ("web", "worker", "errors", "logs")
_SECRET_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEY = re.compile(r"[A-Z_][A-Z0-9_]*")


class SettingsFileError(ValueError):
    """A settings.env line or secret reference that cannot be used."""


def parse_env(text: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals or not _KEY.fullmatch(key.strip()):
            raise SettingsFileError(f"line {number}: expected KEY=value, got {raw!r}")
        settings[key.strip()] = value.strip()
    return settings


def secret_names(settings: dict[str, str]) -> set[str]:
    return {name for value in settings.values() for name in _SECRET_REFERENCE.findall(value)}


def expand_secrets(settings: dict[str, str], secrets: dict[str, Any]) -> dict[str, str]:
    """Every ``${NAME}`` replaced by its secret; a missing one is named (never its value)."""
    missing = sorted(secret_names(settings) - set(secrets or {}))
    if missing:
        raise SettingsFileError("secrets missing from the vault: " + ", ".join(missing))
    return {
        key: _SECRET_REFERENCE.sub(lambda match: str(secrets[match.group(1)]), value)
        for key, value in settings.items()
    }


def settings_for_service(settings: dict[str, str], service: str) -> dict[str, str]:
    """Drop the other services' database URLs: a service only holds its own credentials."""
    others = [other.upper() for other in SERVICES if other != service]
    return {
        key: value
        for key, value in settings.items()
        if not any(key.startswith(f"LOOM_{other}_DATABASE_") for other in others)
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "loom_parse_env": parse_env,
            "loom_expand_secrets": expand_secrets,
            "loom_settings_for": settings_for_service,
        }
