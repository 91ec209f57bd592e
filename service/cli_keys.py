"""``stance keys create|list|revoke``: API keys for the HTTP API.

``create`` prints the new key alone on standard output (so ``KEY=$(stance keys create ci)`` works)
and the reminder that it cannot be shown again on standard error; only its hash is stored.
"""

import typer
from sqlalchemy.exc import SQLAlchemyError

from service.auth.keys import InvalidKeyName
from service.auth.registry import KeyNameTaken, create_key, list_keys, revoke_key
from service.config import get_settings
from service.db import Database
from service.store import migrate

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def _database() -> Database:
    database = Database.from_settings(get_settings())
    try:
        at_head = migrate.is_at_head(database.engine)
    except SQLAlchemyError as error:
        database.dispose()
        typer.echo(f"cannot reach the database: {type(error).__name__}", err=True)
        raise typer.Exit(2) from None
    if not at_head:
        database.dispose()
        typer.echo("the database schema is not current; run `stance migrate` first", err=True)
        raise typer.Exit(2)
    return database


@keys_app.command("create")
def create(
    name: str = typer.Argument(..., help="A unique name: it appears in each event the key writes."),
    read_only: bool = typer.Option(False, "--read-only", help="The key may read but not write."),
) -> None:
    """Create a key and print it; this is the only time it is shown."""
    database = _database()
    try:
        with database.write() as session:
            created = create_key(session, name=name, can_write=not read_only)
    except (InvalidKeyName, KeyNameTaken) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    typer.echo(created.key)
    access = "read-only" if read_only else "read-write"
    typer.echo(
        f"created {access} key {name!r} ({created.info.prefix}…); "
        "store it now, it cannot be shown again",
        err=True,
    )


@keys_app.command("list")
def list_() -> None:
    """List every key: name, prefix, access, created and revoked times."""
    database = _database()
    try:
        with database.read() as session:
            keys = list_keys(session)
    finally:
        database.dispose()
    for key in keys:
        access = "read-write" if key.can_write else "read-only"
        revoked = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        typer.echo(
            f"{key.name}\t{key.prefix}…\t{access}\tcreated {key.created_at.isoformat()}\t{revoked}"
        )


@keys_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """Revoke a key; running servers refuse it within STANCE_API_KEY_CACHE_SECONDS."""
    database = _database()
    try:
        with database.write() as session:
            found = revoke_key(session, name=name)
    finally:
        database.dispose()
    if not found:
        typer.echo(f"error: no key named {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {name!r}")
