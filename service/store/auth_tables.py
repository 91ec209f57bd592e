"""The ``api_keys`` table: who may call the API, stored as hashes only.

Names are never reused, even after a key is revoked, so ``recorded_by: key:<name>`` in an event's
metadata names one key for the life of the log.
"""

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.store.types import UTCDateTime


class ApiKeyRow(SQLModel, table=True):
    """One API key: its display prefix and the SHA-256 of the whole key, never the key itself."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("name", name="uq_api_keys_name"),
        UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(64), nullable=False)
    key_hash: str = Field(sa_type=String(64), nullable=False)
    prefix: str = Field(sa_type=String(16), nullable=False)
    can_write: bool = Field(nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)


api_keys_table = ApiKeyRow.__table__  # type: ignore[attr-defined]
