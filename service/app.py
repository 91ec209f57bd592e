"""The composition root: builds the engine, the store and the HTTP app, and closes them.

Nothing imports this module; the CLI and the tests call ``create_app``.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api import health
from service.config import Settings, get_settings
from service.db import Database
from service.runtime import Runtime
from service.store import migrate


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> FastAPI:
    """The FastAPI app; the lifespan migrates the database first unless told not to."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database.from_settings(settings)
        if run_migrations:
            migrate.upgrade(database.engine)
        app.state.runtime = Runtime(settings=settings, database=database)
        try:
            yield
        finally:
            database.dispose()

    app = FastAPI(
        title="Stance Tracker",
        version="0.1.0",
        summary="Who stands where, since when, and what changed: leaders' stated positions, "
        "recorded as an append-only log of events with their sources.",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    return app
