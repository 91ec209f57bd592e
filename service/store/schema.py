"""The metadata of every table, for Alembic's comparisons; importing it registers them all."""

from sqlmodel import SQLModel

from service.store import (  # noqa: F401  (registers them)
    auth_tables,
    feed_tables,
    read_model_tables,
    tables,
    webhook_tables,
)

target_metadata = SQLModel.metadata
