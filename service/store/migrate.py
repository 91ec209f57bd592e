"""Schema migrations through Alembic, callable from the service, the CLI and the tests.

The Alembic scripts live in ``migrations/`` at the top of the source tree (where the user keeps
them), not inside the package; they are found next to the package, in the working directory, or
at ``STANCE_MIGRATIONS_DIR``.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported by the functions that use it: with Mako and Pygments it takes 0.3 s,
# which every ``stance`` command (most of which never migrate) paid before it could start.


class MigrationsNotFound(RuntimeError):
    """No ``migrations/`` directory where the service looks for one."""


def migrations_dir() -> Path:
    """The directory holding ``env.py`` and ``versions/``."""
    candidates = [
        os.environ.get("STANCE_MIGRATIONS_DIR"),
        Path(__file__).resolve().parents[2] / "migrations",
        Path.cwd() / "migrations",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "env.py").is_file():
            return Path(candidate)
    raise MigrationsNotFound("cannot find the migrations/ directory; set STANCE_MIGRATIONS_DIR")


def alembic_config() -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database up to ``revision``."""
    from alembic import command

    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the schema back to ``revision`` (``base`` drops every table of the service)."""
    from alembic import command

    _run(engine, command.downgrade, revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    """Readiness: the database answers and its schema is the one this code expects."""
    return current_revision(engine) == head_revision()


def _run(engine: Engine, action: Callable[["Config", str], None], revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)
