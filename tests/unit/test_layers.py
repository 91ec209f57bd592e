"""The layers of STYLE.md hold: each package imports only what sits below it.

``domain`` is pure (standard library and itself); ``store`` adds the domain; the write side,
projections and queries add the store; the demo data is pure, its loader writes through commands;
nothing imports ``service.app`` but the CLI that serves it. Cached reads (``readcache``) know
the checkpoints and the database, not the queries or HTTP, so the API and the dashboard share them.
"""

import ast
import sys
from pathlib import Path

import pytest

import service

SERVICE = Path(service.__file__).parent
BASE = ("service.config", "service.db")
LAYERS: dict[str, tuple[str, ...]] = {
    "domain": ("service.domain",),
    "store": ("service.domain", "service.store"),
    "projections": ("service.domain", "service.store", "service.projections", *BASE),
    "queries": ("service.domain", "service.store", "service.queries"),
    "commands.py": ("service.domain", "service.store", *BASE),
    # Cached reads sit above the read models, below the HTTP layers that share them.
    "readcache": ("service.domain", "service.store", "service.readcache", *BASE),
}
PURE = {"domain"}
PURE_FILES = {"demo/seed.py", "demo/article.py", "demo/catalog.py", "demo/steps.py"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: use absolute imports"
            names.add(node.module or "")
    return names


def _files(layer: str) -> list[Path]:
    target = SERVICE / layer
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layer_imports_only_what_sits_below_it(layer: str) -> None:
    files = _files(layer)
    assert files
    for path in files:
        for name in _imports(path):
            if not name.startswith("service"):
                allowed = layer not in PURE or name.split(".")[0] in sys.stdlib_module_names
            else:
                allowed = name.startswith(LAYERS[layer])
            assert allowed, f"{path.relative_to(SERVICE)} imports {name}"


@pytest.mark.parametrize("relative", sorted(PURE_FILES))
def test_demo_data_is_pure(relative: str) -> None:
    for name in _imports(SERVICE / relative):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or name.startswith(("service.domain", "service.demo"))


def test_nothing_but_the_cli_imports_the_composition_root() -> None:
    for path in sorted(SERVICE.rglob("*.py")):
        if path.name in {"app.py", "cli.py"}:
            continue
        assert "service.app" not in _imports(path), f"{path.relative_to(SERVICE)} imports app"
