"""The ``stance`` command: thin wrappers that parse, call the service, and print."""

import typer
import uvicorn

from service.config import get_settings
from service.db import Database
from service.store import migrate as migrations

app = typer.Typer(
    help="Stance Tracker: who stands where, since when, and what changed.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the newest revision."""
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        migrations.upgrade(database.engine)
        typer.echo(f"schema at {migrations.current_revision(database.engine)}")
    finally:
        database.dispose()


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to bind (default STANCE_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default STANCE_PORT)."),
) -> None:
    """Migrate the database, then serve the HTTP API."""
    from service.app import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
    )
