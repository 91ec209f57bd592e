"""Subscriptions: create, read, enable, disable, rotate the secret, delete.

Plain functions over a connection; the caller owns the transaction (the API's ``database.write()``
block). Secrets leave this module only when they are made (creation, rotation): views never carry
them, so no listing can leak one.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from service.store.read_model_tables import ReadModelTables
from service.store.webhook_tables import deliveries_table, subscriptions_table
from service.webhooks.outbox import DeliveryStatus
from service.webhooks.signing import generate_secret

ROTATION_OVERLAP = timedelta(hours=24)
"""How long the previous secret keeps signing after a rotation, so receivers can switch over."""

_S = subscriptions_table


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as the API shows it: filters and health, never the secrets."""

    id: uuid.UUID
    url: str
    description: str | None
    actor_ids: list[str] | None
    topic_ids: list[str] | None
    flips_only: bool
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    created_by: str
    previous_secret_until: datetime | None  # end of the current rotation overlap, if any


@dataclass(frozen=True)
class NewSecret:
    """A secret as shown once to its owner; ``previous_secret_until`` ends the overlap."""

    secret: str
    previous_secret_until: datetime | None


def create_subscription(
    connection: Connection,
    *,
    url: str,
    description: str | None,
    actor_ids: Sequence[str] | None,
    topic_ids: Sequence[str] | None,
    flips_only: bool,
    created_by: str,
    now: datetime,
) -> tuple[SubscriptionView, NewSecret]:
    """A new enabled subscription and its secret. The URL must have been checked already."""
    subscription_id = uuid.uuid4()
    secret = generate_secret()
    connection.execute(
        insert(_S).values(
            id=subscription_id,
            url=url,
            description=description,
            actor_ids=_normal(actor_ids),
            topic_ids=_normal(topic_ids),
            flips_only=flips_only,
            secret=secret,
            previous_secret=None,
            previous_secret_until=None,
            enabled=True,
            disabled_reason=None,
            failing_since=None,
            deleted_at=None,
            created_at=now,
            created_by=created_by,
        )
    )
    view = get_subscription(connection, subscription_id, now=now)
    assert view is not None
    return view, NewSecret(secret=secret, previous_secret_until=None)


def get_subscription(
    connection: Connection, subscription_id: uuid.UUID, *, now: datetime
) -> SubscriptionView | None:
    """The subscription, unless it does not exist or was deleted."""
    row = connection.execute(
        select(_S).where(_S.c.id == subscription_id, _S.c.deleted_at.is_(None))
    ).first()
    return None if row is None else _view(row, now)


def list_subscriptions(
    connection: Connection,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    now: datetime,
) -> list[SubscriptionView]:
    """Subscriptions not deleted, oldest first, ``limit`` of them after the key ``after``."""
    query = select(_S).where(_S.c.deleted_at.is_(None))
    if after is not None:
        created_at, last_id = after
        query = query.where(
            or_(
                _S.c.created_at > created_at, and_(_S.c.created_at == created_at, _S.c.id > last_id)
            )
        )
    query = query.order_by(_S.c.created_at, _S.c.id).limit(limit)
    return [_view(row, now) for row in connection.execute(query)]


def set_enabled(
    connection: Connection, subscription_id: uuid.UUID, *, enabled: bool, now: datetime
) -> SubscriptionView | None:
    """Enable or disable by hand; enabling forgives the failure run that may have disabled it.

    Disabling pauses what was waiting to be sent, enabling sends it (the overdue first).
    """
    values: dict[str, Any] = {"enabled": enabled}
    if enabled:
        values |= {"disabled_reason": None, "failing_since": None}
    else:
        values["disabled_reason"] = "disabled by request"
    changed = connection.execute(
        update(_S).where(_S.c.id == subscription_id, _S.c.deleted_at.is_(None)).values(**values)
    ).rowcount
    if not changed:
        return None
    if enabled:
        resume_deliveries(connection, subscription_id)
    else:
        pause_deliveries(connection, subscription_id)
    return get_subscription(connection, subscription_id, now=now)


def pause_deliveries(connection: Connection, subscription_id: uuid.UUID) -> None:
    """Take a disabled subscription's pending deliveries out of the worker's due index.

    Left pending, they would become due and stay due for as long as it is disabled, and every
    claim would read past them.
    """
    _move(connection, subscription_id, DeliveryStatus.PENDING, DeliveryStatus.PAUSED)


def resume_deliveries(connection: Connection, subscription_id: uuid.UUID) -> None:
    _move(connection, subscription_id, DeliveryStatus.PAUSED, DeliveryStatus.PENDING)


def _move(
    connection: Connection, subscription_id: uuid.UUID, old: DeliveryStatus, new: DeliveryStatus
) -> None:
    d = deliveries_table
    connection.execute(
        update(d)
        .where(d.c.subscription_id == subscription_id, d.c.status == old.value)
        .values(status=new.value)
    )


def rotate_secret(
    connection: Connection, subscription_id: uuid.UUID, *, now: datetime
) -> NewSecret | None:
    """A new secret; the one it replaces keeps signing for ``ROTATION_OVERLAP``.

    Rotating again within the overlap retires the oldest secret at once: only the newest two
    ever sign, which is what receivers verifying with "old or new" expect.
    """
    row = connection.execute(
        select(_S.c.secret)
        .where(_S.c.id == subscription_id, _S.c.deleted_at.is_(None))
        .with_for_update()
    ).first()
    if row is None:
        return None
    secret, until = generate_secret(), now + ROTATION_OVERLAP
    connection.execute(
        update(_S)
        .where(_S.c.id == subscription_id)
        .values(secret=secret, previous_secret=row.secret, previous_secret_until=until)
    )
    return NewSecret(secret=secret, previous_secret_until=until)


def delete_subscription(
    connection: Connection, subscription_id: uuid.UUID, *, now: datetime
) -> bool:
    """Soft-delete: the row and its delivery log stay; what was still to be sent is cancelled.

    Leases are cleared with it, so a worker sending one of them right now cannot write its
    result over the cancellation (its attempt is still logged).
    """
    deleted = connection.execute(
        update(_S)
        .where(_S.c.id == subscription_id, _S.c.deleted_at.is_(None))
        .values(deleted_at=now, enabled=False, disabled_reason="deleted")
    ).rowcount
    if not deleted:
        return False
    d = deliveries_table
    connection.execute(
        update(d)
        .where(
            d.c.subscription_id == subscription_id,
            d.c.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.PAUSED.value]),
        )
        .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None, claimed_until=None)
    )
    return True


def unknown_references(
    connection: Connection, *, actor_ids: Sequence[str], topic_ids: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The actors and topics among the filters that the catalog does not know, in given order.

    A filter naming an unknown actor would silently never match; most often it is a typo.
    """
    catalog = ReadModelTables.live()
    known_actors = set(
        connection.execute(
            select(catalog.actors.c.actor_id).where(catalog.actors.c.actor_id.in_(set(actor_ids)))
        ).scalars()
    )
    known_topics = set(
        connection.execute(
            select(catalog.topics.c.topic_id).where(catalog.topics.c.topic_id.in_(set(topic_ids)))
        ).scalars()
    )
    return (
        [a for a in actor_ids if a not in known_actors],
        [t for t in topic_ids if t not in known_topics],
    )


def _normal(ids: Sequence[str] | None) -> list[str] | None:
    """Sorted and deduplicated; an empty list means "any", like a missing one."""
    return sorted(set(ids)) if ids else None


def _view(row: Any, now: datetime) -> SubscriptionView:
    until = row.previous_secret_until
    return SubscriptionView(
        id=row.id,
        url=row.url,
        description=row.description,
        actor_ids=row.actor_ids,
        topic_ids=row.topic_ids,
        flips_only=row.flips_only,
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        created_at=row.created_at,
        created_by=row.created_by,
        previous_secret_until=until if row.previous_secret and until and until > now else None,
    )
