"""The metadata of every table, for Alembic's comparisons; importing it registers them all."""

from typing import Any

from sqlmodel import SQLModel

from service.store import (  # noqa: F401  (registers them)
    auth_tables,
    feed_tables,
    interval_index,
    read_model_tables,
    tables,
    webhook_tables,
)

target_metadata = SQLModel.metadata


def include_object(
    _object: Any, name: str | None, _type: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Alembic's filter: leave out what the migrations create and the models cannot describe
    (the spatial index of ``stance_intervals``)."""
    return name not in interval_index.UNMODELLED
