"""``stance events export|import``: the whole log as JSON Lines, for backups and moves between
SQLite and PostgreSQL (see ``service.store.transfer`` for what is kept and why)."""

import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from service.config import get_settings
from service.store import migrate as migrations
from service.store.transfer import LineError, MalformedLog, check_lines, export_lines, import_lines
from service.wiring import build_services

events_app = typer.Typer(help="Export or import the event log (JSON Lines).", no_args_is_help=True)


@events_app.command("export")
def export(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (default: standard output)."
    ),
    after: int = typer.Option(0, "--after", min=0, help="Only events after this position."),
) -> None:
    """Write every event after --after, one JSON object per line, in position order."""
    services = build_services(get_settings())
    count = 0
    try:
        with services.database.read() as session:
            target = output.open("wb") if output else sys.stdout.buffer
            try:
                for line in export_lines(services.store, session, after=after):
                    target.write(line)
                    count += 1
            finally:
                if output:
                    target.close()
                else:
                    target.flush()
    finally:
        services.close()
    typer.echo(f"exported {count} events", err=True)


@events_app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
) -> None:
    """Append the events of an export; events already stored are skipped (idempotent).

    The file is checked whole first and imported in one transaction: a malformed line or a
    conflict with this log imports nothing, and the error names the line. The read models then
    catch up.
    """
    try:
        count = check_lines(_lines(file))
    except MalformedLog as error:
        for line_error in error.errors:
            typer.echo(f"{file}:{line_error}", err=True)
        if error.more:
            typer.echo(f"... and {error.more} more", err=True)
        typer.echo("nothing imported", err=True)
        raise typer.Exit(2) from None
    services = build_services(get_settings())
    try:
        migrations.upgrade(services.database.engine)
        try:
            with services.database.write() as session:
                report = import_lines(services.store, session, _lines(file))
        except LineError as error:
            typer.echo(f"{file}:{error}", err=True)
            typer.echo("nothing imported", err=True)
            raise typer.Exit(1) from None
        services.projector.catch_up()
    finally:
        services.close()
    typer.echo(
        f"{count} events read: {report.imported} imported, {report.already_stored} already stored"
    )
    if report.clamped_times:
        typer.echo(
            f"{report.clamped_times} events were older than the log here and were recorded at "
            "its newest time instead (transaction time never runs backwards)"
        )


def _lines(file: Path) -> Iterator[bytes]:
    with file.open("rb") as handle:
        yield from handle
