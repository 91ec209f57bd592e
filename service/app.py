"""The composition root: builds the engine, the store and the HTTP app, and closes them.

Nothing imports this module; the CLI and the tests call ``create_app``.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api import health, metrics
from service.api.body_limit import BodyLimitMiddleware
from service.api.cache_front import CacheFrontMiddleware
from service.api.errors import UnhandledErrorMiddleware, install_error_handlers
from service.api.metrics import MetricsMiddleware
from service.api.openapi import install_openapi
from service.api.routes import catalog, event_stream, events, feeds, stances, statements, webhooks
from service.api.webhook_messages import document_webhooks
from service.background import BackgroundWork
from service.config import Settings, get_settings
from service.db import Database
from service.pg_listener import PgListener
from service.runtime import Runtime
from service.store import migrate
from service.web import install_dashboard


def create_app(
    settings: Settings | None = None, *, run_migrations: bool = True, background: bool = False
) -> FastAPI:
    """The FastAPI app; the lifespan migrates the database first unless told not to.

    With ``background``, the process also runs the read-model catch-up loop, the webhook
    delivery worker and the feed scheduler (``stance serve``; tests leave them off).
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database.from_settings(settings)
        if run_migrations:
            migrate.upgrade(database.engine)
        runtime = Runtime(settings=settings, database=database)
        runtime.notifier.bind(asyncio.get_running_loop())
        runtime.projected.bind(asyncio.get_running_loop())
        app.state.runtime = runtime
        metrics.set_projector_lag_source(runtime.services.projector.lag)
        # PostgreSQL: other processes' appends and projections wake this one (pg_listener).
        listen = settings.pg_listen and not database.is_sqlite
        listener = PgListener(settings.database_url) if listen else None
        if listener is not None:
            runtime.listen(listener)
        metrics.set_read_cache_source(runtime.reads.cache)
        work = BackgroundWork(runtime.services, settings, listener=listener) if background else None
        if work is not None:
            await work.start()
            app.state.webhook_worker = work.deliveries  # manual retries wake it at once
        if listener is not None:
            listener.start()
        try:
            yield
        finally:
            if listener is not None:
                await asyncio.to_thread(listener.stop)
            if work is not None:
                await work.stop()
            runtime.begin_shutdown()
            database.dispose()

    app = FastAPI(
        title="Stance Tracker",
        version="0.1.0",
        summary="Who stands where, since when, and what changed: leaders' stated positions, "
        "recorded as an append-only log of events with their sources.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Added innermost first: metrics see the final status of everything, 413s and 500s included.
    app.add_middleware(CacheFrontMiddleware)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.include_router(health.router)
    app.include_router(events.router)
    app.include_router(event_stream.router)
    app.include_router(webhooks.router)
    app.include_router(metrics.router)
    app.include_router(catalog.router)
    app.include_router(statements.router)
    app.include_router(stances.router)
    app.include_router(feeds.router)
    install_dashboard(app)
    document_webhooks(app)
    install_openapi(app, public_reads=settings.public_reads)
    return app
