"""Request and response schemas of the webhook routes; secrets appear only when they are made."""

import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from service.webhooks.delivery_log import AttemptView, DeliveryView
from service.webhooks.subscriptions import NewSecret, SubscriptionView

SlugItem = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
DeliveryStatus = Literal["pending", "delivered", "failed", "paused", "cancelled"]


class WebhookIn(BaseModel):
    """A subscriber endpoint and the stance changes it wants."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.org/stance",
                    "description": "Newsroom alerts",
                    "actors": ["lukashenko"],
                    "topics": None,
                    "flips_only": True,
                }
            ]
        },
    )

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="Where to POST: http or https, to a public address.",
    )
    description: str | None = Field(default=None, max_length=500)
    actors: list[SlugItem] | None = Field(
        default=None, max_length=200, description="Only these actors; null or empty for any."
    )
    topics: list[SlugItem] | None = Field(
        default=None, max_length=200, description="Only these topics; null or empty for any."
    )
    flips_only: bool = Field(
        default=False,
        description="Only changes whose sign flips (supports side ↔ opposes side), and revisions "
        "with a stretch of valid time whose sign flips.",
    )


class WebhookOut(BaseModel):
    id: UUID
    url: str
    description: str | None
    actors: list[str] | None
    topics: list[str] | None
    flips_only: bool
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why it is disabled: by request, 410 Gone, or failing too long."
    )
    failing_since: datetime | None = Field(
        description="Start of the current run of failed attempts; null while healthy."
    )
    created_at: datetime
    created_by: str
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation, until when the previous secret still signs as well."
    )

    @classmethod
    def of(cls, view: SubscriptionView) -> "WebhookOut":
        return cls(
            id=view.id,
            url=view.url,
            description=view.description,
            actors=view.actor_ids,
            topics=view.topic_ids,
            flips_only=view.flips_only,
            enabled=view.enabled,
            disabled_reason=view.disabled_reason,
            failing_since=view.failing_since,
            created_at=view.created_at,
            created_by=view.created_by,
            previous_secret_expires_at=view.previous_secret_until,
        )


class WebhookCreated(WebhookOut):
    """The new subscription, with its secret: shown this once, store it now."""

    secret: str = Field(description="The `whsec_…` signing secret (Standard Webhooks).")

    @classmethod
    def made(cls, view: SubscriptionView, secret: NewSecret) -> "WebhookCreated":
        return cls(**WebhookOut.of(view).model_dump(), secret=secret.secret)


class SecretRotated(BaseModel):
    """The new secret, shown this once; the previous one signs too until it expires."""

    secret: str
    previous_secret_expires_at: datetime | None

    @classmethod
    def of(cls, secret: NewSecret) -> "SecretRotated":
        return cls(secret=secret.secret, previous_secret_expires_at=secret.previous_secret_until)


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status; null if none came.")
    error: str | None = Field(description="Why no response came (timeout, refused, …).")
    duration_ms: float
    outcome: str = Field(description="success, retry, permanent_failure or gone.")
    next_attempt_at: datetime | None = Field(description="When the attempt after this one was due.")
    response_excerpt: str | None = Field(description="The start of the receiver's reply.")

    @classmethod
    def of(cls, view: AttemptView) -> "AttemptOut":
        return cls(**view.__dict__)


class DeliveryOut(BaseModel):
    """One message to the subscriber and every attempt to deliver it."""

    id: UUID
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_type: str
    actor: str
    topic: str
    position: int
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    attempt_log: list[AttemptOut]
    payload: dict[str, Any] | None = Field(
        default=None, description="The message body (in single-delivery answers only)."
    )

    @classmethod
    def of(cls, view: DeliveryView, *, with_payload: bool = False) -> "DeliveryOut":
        return cls(
            id=view.id,
            message_id=view.message_id,
            event_type=view.event_type,
            actor=view.actor_id,
            topic=view.topic_id,
            position=view.position,
            status=view.status,  # type: ignore[arg-type]
            attempts=view.attempts,
            created_at=view.created_at,
            next_attempt_at=view.next_attempt_at,
            last_attempt_at=view.last_attempt_at,
            last_status_code=view.last_status_code,
            last_error=view.last_error,
            delivered_at=view.delivered_at,
            attempt_log=[AttemptOut.of(a) for a in view.attempt_log],
            payload=json.loads(view.payload) if with_payload else None,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
