"""The jobs themselves: plain functions, so tests call them without a broker."""

from __future__ import annotations

from typing import Any


def greet(name: str) -> dict[str, Any]:
    """The sample job that the web app enqueues (POST /api/greetings on web)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"greet needs a non-empty name, got {name!r}")
    return {"greeting": f"Hello, {name.strip()}!"}
