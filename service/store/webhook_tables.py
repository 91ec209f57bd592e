"""Tables of the webhooks: subscriptions, the delivery outbox, and the log of every attempt.

Unlike the read models these are not projections: subscriptions are configuration written by the
API, and the outbox rows are written once by the projector, in the transaction of the stance change
they announce, so a rebuild never empties or refills them.
"""

import uuid
from datetime import datetime

from sqlalchemy import Column, Index, String, Text, text
from sqlmodel import Field, SQLModel

from service.store.types import UTCDateTime, json_type, position_type


class WebhookSubscriptionRow(SQLModel, table=True):
    """One subscriber endpoint, its filters, secrets and health.

    ``actor_ids`` / ``topic_ids`` are null for "any". ``previous_secret`` keeps signing until
    ``previous_secret_until`` after a rotation. ``failing_since`` starts the endpoint's current run
    of failed attempts; a success clears it. Deleting sets ``deleted_at``: the row and its delivery
    log stay, so the log still says where each message went.
    """

    __tablename__ = "webhook_subscriptions"

    id: uuid.UUID = Field(primary_key=True)
    url: str = Field(sa_type=String(2048))
    description: str | None = Field(default=None, sa_type=String(500))
    actor_ids: list[str] | None = Field(
        default=None, sa_column=Column("actor_ids", json_type(), nullable=True)
    )
    topic_ids: list[str] | None = Field(
        default=None, sa_column=Column("topic_ids", json_type(), nullable=True)
    )
    flips_only: bool
    secret: str = Field(sa_type=String(100))
    previous_secret: str | None = Field(default=None, sa_type=String(100))
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime())
    enabled: bool
    disabled_reason: str | None = Field(default=None, sa_type=String(300))
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime())
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    created_at: datetime = Field(sa_type=UTCDateTime())
    created_by: str = Field(sa_type=String(100))


class WebhookDeliveryRow(SQLModel, table=True):
    """One message for one subscriber (the outbox row), and where its delivery stands.

    ``payload`` is the exact body, built once: every attempt sends and signs the same bytes.
    ``status``: pending (due at ``next_attempt_at``), delivered, failed, paused (its subscription
    is disabled; pending again when it is enabled) or cancelled (its subscription was deleted).
    ``claimed_until`` is a worker's lease: while it lies in the future the row is being sent, and
    a worker that died leaves a lease that simply runs out.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscriptions.id")
    event_type: str = Field(sa_type=String(40))
    actor_id: str = Field(sa_type=String(64))
    topic_id: str = Field(sa_type=String(64))
    payload: str = Field(sa_type=Text())
    position: int = Field(sa_type=position_type())
    created_at: datetime = Field(sa_type=UTCDateTime())
    status: str = Field(sa_type=String(20))
    attempts: int
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=String(1000))
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime())


class WebhookAttemptRow(SQLModel, table=True):
    """One POST of a delivery: what came back (or why nothing did), and what was decided."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempted_at"),)

    id: int | None = Field(
        default=None,
        sa_type=position_type(),
        primary_key=True,
        sa_column_kwargs={"autoincrement": True},
    )
    delivery_id: uuid.UUID = Field(foreign_key="webhook_deliveries.id")
    attempted_at: datetime = Field(sa_type=UTCDateTime())
    status_code: int | None = None
    error: str | None = Field(default=None, sa_type=String(1000))
    duration_ms: float
    response_excerpt: str | None = Field(default=None, sa_type=Text())
    outcome: str = Field(sa_type=String(20))
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


subscriptions_table = WebhookSubscriptionRow.__table__  # type: ignore[attr-defined]
deliveries_table = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]
attempts_table = WebhookAttemptRow.__table__  # type: ignore[attr-defined]
