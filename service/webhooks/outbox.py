"""The outbox: one delivery per (stance change or revision, matching subscription), written by
the projector.

``write_outbox`` is a projector change hook, so it runs inside the transaction that records the
stance change: the change and its announcements commit together or not at all. A change is never
lost (no crash window between "changed" and "queued") and never announced without having happened
(a rolled-back batch takes its outbox rows with it). The delivery worker sends the rows later.

Subscriptions are read afresh in every batch, never cached: a subscription created, disabled or
deleted in another process takes effect at the next batch.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from service.projections.revisions import REVISION_CAUSES, is_revision
from service.store.read_model_tables import ReadModelTables
from service.store.webhook_tables import deliveries_table, subscriptions_table
from service.webhooks.payload import (
    EventType,
    RevisedStretch,
    StanceSnapshot,
    outbox_key,
    stance_changed_payload,
    stance_revised_payload,
)


class DeliveryStatus(StrEnum):
    """Where a delivery stands; the first three are the policy's ``MessageState`` values."""

    PENDING = "pending"  # due at next_attempt_at
    DELIVERED = "delivered"
    FAILED = "failed"
    PAUSED = "paused"  # its subscription is disabled; pending again once it is enabled
    CANCELLED = "cancelled"  # its subscription was deleted; never sent


_LOOKUP_CHUNK = 500  # ids per IN (...) list: well under every driver's parameter limit


@dataclass(frozen=True)
class _Filter:
    """What one subscription wants; ``None`` sets mean "any"."""

    subscription_id: uuid.UUID
    actor_ids: frozenset[str] | None
    topic_ids: frozenset[str] | None
    flips_only: bool

    def matches(self, change: dict[str, Any]) -> bool:
        """Actors and topics as given; ``flips_only`` wants a change that flips, or a revision
        with a stretch that flips (the same ``flip`` key on both)."""
        if self.actor_ids is not None and change["actor_id"] not in self.actor_ids:
            return False
        if self.topic_ids is not None and change["topic_id"] not in self.topic_ids:
            return False
        return not self.flips_only or bool(change["flip"])


def write_outbox(connection: Connection, changes: Sequence[dict[str, Any]]) -> None:
    """Queue a ``stance.changed`` message for every matching subscription of every change, and a
    ``stance.revised`` one for every revision (the projection hands both, ``is_revision`` tells
    them apart).

    Row ids are deterministic (event, pair, subscription), and a row whose id exists already is
    skipped rather than failing the batch, so replaying a batch can never duplicate a message or
    wedge the projector.
    """
    filters = _active_filters(connection)
    if not filters or not changes:
        return
    matched = [(change, [f for f in filters if f.matches(change)]) for change in changes]
    matched = [(change, subs) for change, subs in matched if subs]
    if not matched:
        return
    previous_since = _previous_since(
        connection, [change for change, _ in matched if not is_revision(change)]
    )
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for change, subscriptions in matched:
        if is_revision(change):
            event_type, body = EventType.REVISED, _revised_payload(change)
        else:
            event_type = EventType.CHANGED
            body = _payload(change, previous_since.get(_change_key(change)))
        text = body.decode("utf-8")
        for subscription in subscriptions:
            rows.append(_row(change, subscription.subscription_id, event_type, text, now))
    insert_ignoring_duplicates(connection, deliveries_table, rows)


def insert_ignoring_duplicates(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """INSERT the rows, skipping any whose primary key exists (``ON CONFLICT DO NOTHING``)."""
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    keys = [column.name for column in table.primary_key.columns]
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=keys)
    connection.execute(statement, list(rows))


def _active_filters(connection: Connection) -> list[_Filter]:
    s = subscriptions_table
    query = select(s.c.id, s.c.actor_ids, s.c.topic_ids, s.c.flips_only).where(
        s.c.enabled.is_(True), s.c.deleted_at.is_(None)
    )
    return [
        _Filter(
            subscription_id=row.id,
            actor_ids=None if row.actor_ids is None else frozenset(row.actor_ids),
            topic_ids=None if row.topic_ids is None else frozenset(row.topic_ids),
            flips_only=row.flips_only,
        )
        for row in connection.execute(query)
    ]


def _change_key(change: dict[str, Any]) -> tuple[int, str, str]:
    return change["position"], change["actor_id"], change["topic_id"]


def _previous_since(
    connection: Connection, changes: Iterable[dict[str, Any]]
) -> dict[tuple[int, str, str], datetime]:
    """When the previous stance began, for each change that had one.

    The change names the statement behind the previous stance, not its ``stated_at``; that is the
    statement's version as it stood just before the changing event (the version with the greatest
    causing position below the event's), which may since have been corrected.
    """
    wanted = [c for c in changes if c["from_stance"] is not None and c["previous_statement_id"]]
    if not wanted:
        return {}
    versions_table = ReadModelTables.live().statement_versions
    ids = sorted({c["previous_statement_id"] for c in wanted})
    versions: dict[uuid.UUID, list[tuple[int, datetime]]] = defaultdict(list)
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        query = select(
            versions_table.c.statement_id,
            versions_table.c.caused_by_position,
            versions_table.c.stated_at,
        ).where(versions_table.c.statement_id.in_(ids[start : start + _LOOKUP_CHUNK]))
        for row in connection.execute(query):
            versions[row.statement_id].append((row.caused_by_position, row.stated_at))
    found: dict[tuple[int, str, str], datetime] = {}
    for change in wanted:
        earlier = [
            (caused_by, stated_at)
            for caused_by, stated_at in versions.get(change["previous_statement_id"], [])
            if caused_by < change["position"]
        ]
        if earlier:
            found[_change_key(change)] = max(earlier)[1]
    return found


def _payload(change: dict[str, Any], previous_since: datetime | None) -> bytes:
    previous = None
    if change["from_stance"] is not None:
        previous = StanceSnapshot(
            stance=change["from_stance"],
            # Never missing in practice; the event time keeps the payload valid if it were.
            since=previous_since or change["recorded_at"],
            statement_id=change["previous_statement_id"],
        )
    current = None
    if change["to_stance"] is not None:
        current = StanceSnapshot(
            stance=change["to_stance"], since=change["since"], statement_id=change["statement_id"]
        )
    return stance_changed_payload(
        event_type=EventType.CHANGED,
        occurred_at=change["recorded_at"],
        actor=change["actor_id"],
        topic=change["topic_id"],
        previous=previous,
        current=current,
        position=change["position"],
    )


def _revised_payload(revision: dict[str, Any]) -> bytes:
    return stance_revised_payload(
        occurred_at=revision["recorded_at"],
        actor=revision["actor_id"],
        topic=revision["topic_id"],
        stretches=[
            RevisedStretch(
                valid_from=stretch["valid_from"],
                valid_until=stretch["valid_until"],
                before=_stance_snapshot(stretch["before"]),
                after=_stance_snapshot(stretch["after"]),
            )
            for stretch in revision["stretches"]
        ],
        cause=REVISION_CAUSES[revision["event_type"]],
        position=revision["position"],
    )


def _stance_snapshot(snapshot: dict[str, Any] | None) -> StanceSnapshot | None:
    return None if snapshot is None else StanceSnapshot(**snapshot)


def _row(
    change: dict[str, Any],
    subscription_id: uuid.UUID,
    event_type: EventType,
    body: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": outbox_key(
            event_id=change["event_id"],
            subscription_id=subscription_id,
            actor_id=change["actor_id"],
            topic_id=change["topic_id"],
        ),
        "subscription_id": subscription_id,
        "event_type": event_type.value,
        "actor_id": change["actor_id"],
        "topic_id": change["topic_id"],
        "payload": body,
        "position": change["position"],
        "created_at": now,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "last_attempt_at": None,
        "last_status_code": None,
        "last_error": None,
        "delivered_at": None,
        "claimed_until": None,
    }
