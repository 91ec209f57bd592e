"""Tables of the event store: the append-only log and the projection checkpoints.

These classes describe the schema for queries; Alembic revisions under ``migrations/`` create it.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.store.types import UTCDateTime, json_type, position_type


class EventRow(SQLModel, table=True):
    """One event of the log. Never updated or deleted: database triggers refuse both."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("event_id", name="uq_events_event_id"),
        UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
        Index("ix_events_type_position", "type", "position"),
        Index("ix_events_recorded_at", "recorded_at"),
        CheckConstraint("version >= 0", name="ck_events_version_not_negative"),
    )

    # Assigned by the store under its append lock (dense, gapless), never by a sequence.
    position: int = Field(
        sa_type=position_type(), primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    event_id: uuid.UUID = Field(nullable=False)
    stream_id: str = Field(sa_type=String(200), nullable=False)
    version: int = Field(nullable=False)
    type: str = Field(sa_type=String(100), nullable=False)
    schema_version: int = Field(default=1, nullable=False)
    data: dict[str, Any] = Field(sa_column=Column("data", json_type(), nullable=False))
    metadata_: dict[str, Any] = Field(sa_column=Column("metadata", json_type(), nullable=False))
    recorded_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)


class ProjectionCheckpoint(SQLModel, table=True):
    """How far each projection has read the log; updated in the same transaction as its tables."""

    __tablename__ = "projection_checkpoints"

    name: str = Field(sa_type=String(100), primary_key=True)
    position: int = Field(default=0, sa_type=position_type(), nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)


events_table = EventRow.__table__  # type: ignore[attr-defined]
checkpoints_table = ProjectionCheckpoint.__table__  # type: ignore[attr-defined]
