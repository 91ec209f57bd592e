"""The delivery worker's database side: claim due deliveries, record what their attempts did.

Both are short transactions, so no lock is held while a subscriber takes its time answering.
Claiming writes a lease (``claimed_until``) instead of holding a row lock across the send: a
worker that is killed mid-delivery leaves a lease that runs out, and the row is claimed again
(at least once). On PostgreSQL the due rows are picked with ``FOR UPDATE SKIP LOCKED``, so
workers claiming at the same moment take disjoint rows instead of queueing behind each other; on
SQLite the write transaction (``BEGIN IMMEDIATE``) serialises claims outright.

The lease value doubles as the claim's token: a result is written back only where the row still
carries the lease it was claimed with. A row whose lease ran out and was claimed by another worker,
or that was queued again by a manual retry, keeps the newer state; the attempt is logged anyway.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from service.db import Database
from service.store.webhook_tables import attempts_table, deliveries_table, subscriptions_table
from service.webhooks.attempt import AttemptResult
from service.webhooks.outbox import DeliveryStatus
from service.webhooks.policy import MessageState, RetryPolicy, classify, decide
from service.webhooks.subscriptions import pause_deliveries

ERROR_LENGTH = 1000  # the columns' width; longer messages are cut to fit
REASON_LENGTH = 300


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery leased to this worker, with everything needed to send it."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]  # the current secret first; the previous one while it overlaps
    body: bytes
    attempts: int  # made before this one
    lease: datetime


@dataclass(frozen=True)
class FinishedAttempt:
    """One attempt and when it ran; ``finished_at`` is the "now" the policy judges it at."""

    delivery: ClaimedDelivery
    result: AttemptResult
    attempted_at: datetime
    finished_at: datetime


def claim_due(
    database: Database, *, limit: int, now: datetime, lease: timedelta
) -> list[ClaimedDelivery]:
    """Lease up to ``limit`` due deliveries, oldest due first, in a transaction of its own."""
    with database.write() as session:
        return _claim(session.connection(), limit=limit, now=now, lease=lease)


def settle_and_claim(
    database: Database,
    finished: Sequence[FinishedAttempt],
    *,
    policy: RetryPolicy,
    limit: int,
    now: datetime,
    lease: timedelta,
) -> list[ClaimedDelivery]:
    """Record ``finished`` (as ``record_attempts``) and lease up to ``limit`` more, in one
    transaction: a busy worker pays one commit per round instead of two.

    If anything fails, neither happened: the finished rows keep their leases (they go out again
    when those run out) and nothing new is leased.
    """
    with database.write() as session:
        connection = session.connection()
        if finished:
            _record(connection, finished, policy=policy)
        if limit <= 0:
            return []
        return _claim(connection, limit=limit, now=now, lease=lease)


def _claim(
    connection: Connection, *, limit: int, now: datetime, lease: timedelta
) -> list[ClaimedDelivery]:
    """Lease up to ``limit`` due deliveries, oldest due first.

    The due rows are read from the partial index of pending rows alone, in order, so the claim
    costs the same however large the log of delivered messages grows. A row whose subscription
    was disabled or deleted meanwhile (the outbox wrote it just as that happened) is paused or
    cancelled here instead of being sent.
    """
    d = deliveries_table
    due = (
        select(d.c.id)
        .where(
            d.c.status == DeliveryStatus.PENDING.value,
            d.c.next_attempt_at <= now,
            or_(d.c.claimed_until.is_(None), d.c.claimed_until <= now),
        )
        .order_by(d.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    until = now + lease
    ids = list(connection.execute(due).scalars())
    if not ids:
        return []
    rows = _claimable(connection, _with_subscriptions(connection, ids))
    if rows:
        claimed_ids = [row.id for row in rows]
        connection.execute(update(d).where(d.c.id.in_(claimed_ids)).values(claimed_until=until))
    rows.sort(key=lambda row: row.next_attempt_at)
    return [
        ClaimedDelivery(
            id=row.id,
            subscription_id=row.subscription_id,
            url=row.url,
            secrets=_signing_secrets(row, now),
            body=row.payload.encode("utf-8"),
            attempts=row.attempts,
            lease=until,
        )
        for row in rows
    ]


def _with_subscriptions(connection: Connection, ids: Sequence[uuid.UUID]) -> list[Any]:
    d, s = deliveries_table, subscriptions_table
    query = (
        select(
            d.c.id,
            d.c.subscription_id,
            d.c.payload,
            d.c.attempts,
            d.c.next_attempt_at,
            s.c.url,
            s.c.secret,
            s.c.previous_secret,
            s.c.previous_secret_until,
            s.c.enabled,
            s.c.deleted_at,
        )
        .join(s, s.c.id == d.c.subscription_id)
        .where(d.c.id.in_(ids))
    )
    return list(connection.execute(query).all())


def _claimable(connection: Connection, rows: list[Any]) -> list[Any]:
    """The rows whose subscription may be sent to; the others are paused or cancelled.

    Subscriptions that look disabled are read again under a share lock, so a row is never paused
    by a stale view of an endpoint being enabled right now. A subscription locked by such a
    change is skipped rather than waited for (waiting could deadlock with a delete that waits
    for these rows); its rows are decided at the next claim.
    """
    held = {row.subscription_id for row in rows if not row.enabled or row.deleted_at}
    if not held:
        return rows
    s, d = subscriptions_table, deliveries_table
    current = {
        sub.id: sub
        for sub in connection.execute(
            select(s.c.id, s.c.enabled, s.c.deleted_at)
            .where(s.c.id.in_(sorted(held)))
            .order_by(s.c.id)
            .with_for_update(read=True, skip_locked=True)
        )
    }
    sendable = []
    for row in rows:
        if row.subscription_id not in held:
            sendable.append(row)
            continue
        sub = current.get(row.subscription_id)
        if sub is None:
            continue
        if sub.enabled and sub.deleted_at is None:
            sendable.append(row)
            continue
        status = DeliveryStatus.CANCELLED if sub.deleted_at else DeliveryStatus.PAUSED
        connection.execute(update(d).where(d.c.id == row.id).values(status=status.value))
    return sendable


def record_attempts(
    database: Database, finished: Sequence[FinishedAttempt], *, policy: RetryPolicy
) -> None:
    """Log each attempt, move its delivery on as the policy decides, update endpoint health.

    The subscriptions involved are locked (in id order, so two workers cannot deadlock) while
    their failure runs are read and written, so concurrent results for one endpoint see each
    other: a success anywhere clears the run, and the run that reaches the policy's limit
    disables the endpoint once.
    """
    if not finished:
        return
    with database.write() as session:
        _record(session.connection(), finished, policy=policy)


def _record(
    connection: Connection, finished: Sequence[FinishedAttempt], *, policy: RetryPolicy
) -> None:
    d, s = deliveries_table, subscriptions_table
    subscription_ids = sorted({f.delivery.subscription_id for f in finished})
    # FOR NO KEY UPDATE: it still serialises the workers, but unlike FOR UPDATE it does not
    # block the projector, whose outbox inserts take KEY SHARE locks for the foreign key.
    before: dict[uuid.UUID, datetime | None] = {
        row.id: row.failing_since
        for row in connection.execute(
            select(s.c.id, s.c.failing_since)
            .where(s.c.id.in_(subscription_ids))
            .order_by(s.c.id)
            .with_for_update(key_share=True)
        )
    }
    failing_since = dict(before)
    disable: dict[uuid.UUID, str] = {}
    delivery_rows: list[dict[str, Any]] = []
    attempt_rows: list[dict[str, Any]] = []
    for attempt in sorted(finished, key=lambda f: f.finished_at):
        delivery, result = attempt.delivery, attempt.result
        decision = decide(
            result,
            attempts_made=delivery.attempts + 1,
            failing_since=failing_since.get(delivery.subscription_id),
            now=attempt.finished_at,
            policy=policy,
        )
        failing_since[delivery.subscription_id] = decision.failing_since
        if decision.disable_endpoint:
            disable.setdefault(delivery.subscription_id, decision.reason[:REASON_LENGTH])
        delivered = decision.state is MessageState.DELIVERED
        delivery_rows.append(
            {
                "b_id": delivery.id,
                "b_lease": delivery.lease,
                "b_status": decision.state.value,
                "b_next": decision.next_attempt_at,
                "b_last": attempt.attempted_at,
                "b_code": result.status_code,
                "b_error": None if delivered else _cut(decision.reason, ERROR_LENGTH),
                "b_delivered": attempt.finished_at if delivered else None,
            }
        )
        attempt_rows.append(
            {
                "delivery_id": delivery.id,
                "attempted_at": attempt.attempted_at,
                "status_code": result.status_code,
                "error": _cut(result.error, ERROR_LENGTH),
                "duration_ms": float(result.duration_ms),
                "response_excerpt": _text(result.response_body_excerpt) or None,
                "outcome": classify(result).value,
                "next_attempt_at": decision.next_attempt_at,
            }
        )
    connection.execute(
        update(d)
        .where(and_(d.c.id == bindparam("b_id"), d.c.claimed_until == bindparam("b_lease")))
        .values(
            status=bindparam("b_status"),
            attempts=d.c.attempts + 1,
            next_attempt_at=bindparam("b_next"),
            last_attempt_at=bindparam("b_last"),
            last_status_code=bindparam("b_code"),
            last_error=bindparam("b_error"),
            delivered_at=bindparam("b_delivered"),
            claimed_until=None,
        ),
        delivery_rows,
    )
    connection.execute(insert(attempts_table), attempt_rows)
    changed = [
        {"b_id": key, "b_since": since}
        for key, since in sorted(failing_since.items())
        if since != before.get(key)
    ]
    if changed:  # a healthy endpoint's row is left alone: no write, no dead tuple
        connection.execute(
            update(s).where(s.c.id == bindparam("b_id")).values(failing_since=bindparam("b_since")),
            changed,
        )
    for subscription_id, reason in disable.items():
        connection.execute(
            update(s)
            .where(s.c.id == subscription_id, s.c.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason)
        )
        pause_deliveries(connection, subscription_id)


def release(database: Database, claimed: Sequence[ClaimedDelivery]) -> None:
    """Give back leases of deliveries that were never attempted, so they go out without delay."""
    if not claimed:
        return
    d = deliveries_table
    with database.write() as session:
        session.connection().execute(
            update(d)
            .where(and_(d.c.id == bindparam("b_id"), d.c.claimed_until == bindparam("b_lease")))
            .values(claimed_until=None),
            [{"b_id": c.id, "b_lease": c.lease} for c in claimed],
        )


def _signing_secrets(row: Any, now: datetime) -> tuple[str, ...]:
    """The current secret, plus the previous one while its overlap after a rotation lasts."""
    until = row.previous_secret_until
    if row.previous_secret and until is not None and until > now:
        return (row.secret, row.previous_secret)
    return (row.secret,)


def _cut(text: str | None, length: int) -> str | None:
    return None if text is None else _text(text)[:length]


def _text(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and a receiver's reply may contain anything.
    return text.replace("\x00", "\ufffd")
