"""The delivery log of a subscription: each message, where it stands, and every attempt at it.

Read by the API so that a subscriber can see why nothing arrived (an HTTP 500, a timeout, a
refused address) and when the next attempt comes, and ask for a message to be sent again.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from service.store.webhook_tables import attempts_table, deliveries_table
from service.webhooks.outbox import DeliveryStatus
from service.webhooks.payload import message_id

_D = deliveries_table
_A = attempts_table


@dataclass(frozen=True)
class AttemptView:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float
    outcome: str
    next_attempt_at: datetime | None
    response_excerpt: str | None


@dataclass(frozen=True)
class DeliveryView:
    """One message to one subscriber; ``message_id`` is its ``webhook-id`` on every attempt."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    message_id: str
    event_type: str
    actor_id: str
    topic_id: str
    position: int
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    attempt_log: list[AttemptView]
    payload: str


def list_deliveries(
    connection: Connection,
    subscription_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    status: str | None,
    limit: int,
    excerpt_limit: int,
) -> list[DeliveryView]:
    """Newest first, ``limit`` of them older than the key ``before``; excerpts cut for listing."""
    query = select(_D).where(_D.c.subscription_id == subscription_id)
    if status is not None:
        query = query.where(_D.c.status == status)
    if before is not None:
        created_at, last_id = before
        query = query.where(
            or_(
                _D.c.created_at < created_at, and_(_D.c.created_at == created_at, _D.c.id < last_id)
            )
        )
    rows = connection.execute(query.order_by(_D.c.created_at.desc(), _D.c.id.desc()).limit(limit))
    return _with_attempts(connection, rows.all(), excerpt_limit=excerpt_limit)


def get_delivery(
    connection: Connection, subscription_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryView | None:
    row = connection.execute(
        select(_D).where(_D.c.id == delivery_id, _D.c.subscription_id == subscription_id)
    ).first()
    if row is None:
        return None
    return _with_attempts(connection, [row], excerpt_limit=None)[0]


def retry_delivery(
    connection: Connection, subscription_id: uuid.UUID, delivery_id: uuid.UUID, *, now: datetime
) -> DeliveryView | None:
    """Queue the message again, due now, whatever its state (a delivered one is sent again).

    The lease is cleared so that the retry goes out at once even if a worker holds the row; that
    worker's result is then not written over this request's state (its attempt is still logged).
    """
    changed = connection.execute(
        update(_D)
        .where(_D.c.id == delivery_id, _D.c.subscription_id == subscription_id)
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now, claimed_until=None)
    ).rowcount
    return get_delivery(connection, subscription_id, delivery_id) if changed else None


def _with_attempts(
    connection: Connection, rows: list[Any], *, excerpt_limit: int | None
) -> list[DeliveryView]:
    attempts: dict[uuid.UUID, list[AttemptView]] = defaultdict(list)
    if rows:
        query = (
            select(_A)
            .where(_A.c.delivery_id.in_([row.id for row in rows]))
            .order_by(_A.c.delivery_id, _A.c.attempted_at, _A.c.id)
        )
        for attempt in connection.execute(query):
            excerpt = attempt.response_excerpt
            if excerpt is not None and excerpt_limit is not None:
                excerpt = excerpt[:excerpt_limit]
            attempts[attempt.delivery_id].append(
                AttemptView(
                    attempted_at=attempt.attempted_at,
                    status_code=attempt.status_code,
                    error=attempt.error,
                    duration_ms=attempt.duration_ms,
                    outcome=attempt.outcome,
                    next_attempt_at=attempt.next_attempt_at,
                    response_excerpt=excerpt,
                )
            )
    return [
        DeliveryView(
            id=row.id,
            subscription_id=row.subscription_id,
            message_id=message_id(row.id),
            event_type=row.event_type,
            actor_id=row.actor_id,
            topic_id=row.topic_id,
            position=row.position,
            status=row.status,
            attempts=row.attempts,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            last_attempt_at=row.last_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            attempt_log=attempts[row.id],
            payload=row.payload,
        )
        for row in rows
    ]
