"""The package's layers point one way: only the app wires the API blueprints, so nothing below
the HTTP layer (pages, store, alerts, ...) depends on how the API answers."""

from __future__ import annotations

import ast
from pathlib import Path

import loom_errors

PACKAGE = Path(loom_errors.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_only_the_app_imports_the_api_blueprints() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in _imported_modules(path) if name.startswith("loom_errors.api")
        )
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "api" and path.name != "app.py"
    }
    assert {path: names for path, names in offenders.items() if names} == {}
