"""The package's one layering rule: only the app factory imports a blueprint's module.

The serialisers a record and a filter share (search/serialisers.py) and the live-tail stream
(tail/stream.py) sit below the blueprints, so the tail poller and the pages never reach into
another blueprint's module to borrow them (issue 11)."""

from __future__ import annotations

import ast
from pathlib import Path

import loom_logs

PACKAGE_ROOT = Path(loom_logs.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _defines_blueprint(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Blueprint"
        for node in ast.walk(tree)
    )


def test_only_the_app_factory_imports_a_blueprint_module() -> None:
    trees = {_module_name(path): ast.parse(path.read_text()) for path in PACKAGE_ROOT.rglob("*.py")}
    blueprints = {name for name, tree in trees.items() if _defines_blueprint(tree)}
    assert "loom_logs.api.logs" in blueprints
    importers = {
        f"{name} imports {imported}"
        for name, tree in trees.items()
        if name != "loom_logs.app"
        for imported in _imported_modules(tree) & blueprints
    }
    assert importers == set()
