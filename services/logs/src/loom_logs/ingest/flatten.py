"""Nested structures flattened into one level of fields: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 16  # deeper than this is kept as its JSON-ish text, not walked forever


def flatten_fields(values: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < MAX_DEPTH:
            flat.update(flatten_fields(value, f"{name}.", depth + 1))
        elif isinstance(value, dict):
            flat[name] = str(value) if value else {}
        else:
            flat[name] = value
    return flat
