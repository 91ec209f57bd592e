"""The domain and the demo stay pure: standard library and our own domain code, nothing else."""

import ast
import sys
from pathlib import Path

import pytest

import service

SERVICE = Path(service.__file__).parent
ALLOWED = {"domain": ("service.domain",), "demo": ("service.domain", "service.demo")}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: use absolute imports"
            names.add(node.module or "")
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_stdlib_and_its_allowed_layers(package: str) -> None:
    files = sorted((SERVICE / package).glob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            allowed = top in sys.stdlib_module_names or name.startswith(ALLOWED[package])
            assert allowed, f"{path.name} imports {name}"
