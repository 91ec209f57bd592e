"""The dashboard only reads: no module of it imports the write side, and its routes answer GET
alone, so no page can change the record."""

import ast
from pathlib import Path

from fastapi.routing import APIRoute

import service.web
from service.web.routes import activity, matrix, people

WEB = Path(service.web.__file__).parent
WRITE_SIDE = ("service.commands", "service.projections", "service.domain.commands")


def test_no_dashboard_module_imports_the_write_side() -> None:
    files = sorted(WEB.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(WRITE_SIDE), f"{path.name} imports {name}"


def test_every_dashboard_route_is_a_get() -> None:
    pages = [
        route
        for module in (activity, matrix, people)
        for route in module.router.routes
        if isinstance(route, APIRoute)
    ]
    assert {route.path for route in pages} >= {"/", "/actors/{actor_id}", "/events", "/webhooks"}
    for route in pages:
        assert route.methods <= {"GET", "HEAD"}, route.path
