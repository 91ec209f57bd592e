"""The metadata of every table, for Alembic's comparisons; importing it registers them all."""

from sqlmodel import SQLModel

from service.store import tables  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata
