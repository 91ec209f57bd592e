"""The metadata of every table, for Alembic's comparisons; importing it registers them all."""

from typing import Any

from sqlmodel import SQLModel

from service.store import (  # noqa: F401  (registers them)
    auth_tables,
    feed_tables,
    legacy_interval_index,
    read_model_tables,
    tables,
    webhook_tables,
)

target_metadata = SQLModel.metadata


def include_object(
    _object: Any, name: str | None, _type: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Alembic's filter: leave out what the models cannot describe. Since revision 0010 that is
    nothing; before it, the spatial index of ``stance_intervals`` (an R*Tree or GiST index,
    ``service.store.legacy_interval_index``), which a comparison at those revisions skips."""
    return name not in _UNMODELLED


_UNMODELLED = frozenset(
    {
        legacy_interval_index.RTREE,
        *(f"{legacy_interval_index.RTREE}_{part}" for part in ("node", "parent", "rowid")),
        legacy_interval_index.GIST,
        legacy_interval_index.GIST_0008,
    }
)
