"""Puts the dashboard into the app: its pages, its static files and its HTML error pages."""

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from service.web.errors import PageError, render_page_error
from service.web.routes import activity, matrix, people

STATIC_DIR: Final = Path(__file__).parent / "static"


def install_dashboard(app: FastAPI) -> None:
    """``GET /`` and the pages under it; ``/static`` serves their CSS and scripts."""
    app.add_exception_handler(PageError, render_page_error)
    app.include_router(matrix.router)
    app.include_router(people.router)
    app.include_router(activity.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
