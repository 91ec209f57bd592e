"""The ``stance`` command: thin wrappers that parse, call the service, and print."""

import typer

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
    demo: bool = typer.Option(False, "--demo", help="Load the demo data set first."),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="API only: no feed polling, deliveries or catch-up loop."
    ),
) -> None:
    """Migrate the database, then serve the HTTP API (and, unless --no-worker, the background
    work: feed polling, webhook deliveries, read-model catch-up)."""
    from service.api.server import run_server
    from service.app import create_app

    settings = get_settings()
    if demo:
        from service.cli_stances import demo as load_demo_command

        load_demo_command()
    run_server(
        create_app(settings, background=not no_worker),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
    )


@app.command()
def worker() -> None:
    """Run the background work alone: feed polling, webhook deliveries, read-model catch-up."""
    import asyncio
    import contextlib

    from service.background import BackgroundWork
    from service.wiring import build_services

    settings = get_settings()
    services = build_services(settings)
    migrations.upgrade(services.database.engine)
    typer.echo("worker running: feeds, webhook deliveries, read-model catch-up (Ctrl-C stops)")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(BackgroundWork(services, settings).run_forever())
    finally:
        services.close()


def _register_read_model_commands() -> None:
    from service import cli_stances

    app.command("demo")(cli_stances.demo)
    app.command("replay")(cli_stances.replay)
    app.add_typer(cli_stances.projections_app, name="projections")


_register_read_model_commands()


def _register_key_commands() -> None:
    from service.cli_keys import keys_app

    app.add_typer(keys_app, name="keys")


_register_key_commands()


def _register_feed_commands() -> None:
    from service.cli_feeds import feeds_app

    app.add_typer(feeds_app, name="feeds")


_register_feed_commands()


def _register_event_commands() -> None:
    from service.cli_events import events_app

    app.add_typer(events_app, name="events")


_register_event_commands()
