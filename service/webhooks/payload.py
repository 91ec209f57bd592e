"""The ``stance.changed`` / ``stance.revised`` payload and the stable message id.

The body is built once, when the outbox row is written, and stored as bytes: the signature covers
the exact bytes, and every retry must send the same message. The message id comes from the outbox
row, so it is the same on every attempt and receivers can drop the duplicates that at-least-once
delivery produces.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from service.domain.stances import Stance, is_flip, parse_stance

MESSAGE_ID_PREFIX = "msg_"
# Namespace of the outbox keys; fixed forever, or replayed outbox writes would get new keys.
_OUTBOX_NAMESPACE = uuid.UUID("4f1b7a52-2d0e-5c43-9a51-6b0c2f3e8d17")


class EventType(StrEnum):
    """``changed`` is news (the current stance moved); ``revised`` fixes a stance in the past."""

    CHANGED = "stance.changed"
    REVISED = "stance.revised"


@dataclass(frozen=True)
class StanceSnapshot:
    """A stance as subscribers see it: the label, since when, and the statement behind it."""

    stance: Stance | str
    since: datetime
    statement_id: uuid.UUID | str


def stance_changed_payload(
    *,
    event_type: EventType,
    occurred_at: datetime,
    actor: str,
    topic: str,
    previous: StanceSnapshot | None,
    current: StanceSnapshot | None,
    position: int,
) -> bytes:
    """The JSON body, compact and in a fixed key order, as UTF-8 bytes.

    ``flip`` is derived here with the domain's rule rather than passed in, so the payload can never
    disagree with the stances it carries. ``position`` is the event's position in the store, which
    lets receivers order messages that arrive out of order.
    """
    if previous is None and current is None:
        raise ValueError("a stance change needs a previous or a current stance")
    previous_stance = None if previous is None else parse_stance(previous.stance)
    current_stance = None if current is None else parse_stance(current.stance)
    document = {
        "type": EventType(event_type).value,
        "timestamp": _iso(occurred_at),
        "data": {
            "actor": actor,
            "topic": topic,
            "previous": _snapshot(previous),
            "current": _snapshot(current),
            "flip": is_flip(previous_stance, current_stance),
            "position": position,
        },
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class RevisedStretch:
    """Valid times [valid_from, valid_until) whose stance a correction moved, both sides of it."""

    valid_from: datetime
    valid_until: datetime | None
    before: StanceSnapshot | None
    after: StanceSnapshot | None


def stance_revised_payload(
    *,
    occurred_at: datetime,
    actor: str,
    topic: str,
    stretches: Sequence[RevisedStretch],
    cause: str,
    position: int,
) -> bytes:
    """The ``stance.revised`` body: what the record now says for past valid times.

    One message per (event, pair) lists every stretch the event moved, oldest first; each
    stretch's ``flip`` (and the message's, when any stretch flips) is derived with the domain's
    rule, as for ``stance.changed``. ``cause`` is ``corrected`` or ``retracted``.
    """
    if not stretches:
        raise ValueError("a revision needs at least one stretch of valid time")
    revisions = []
    for stretch in stretches:
        before = None if stretch.before is None else parse_stance(stretch.before.stance)
        after = None if stretch.after is None else parse_stance(stretch.after.stance)
        if before == after:
            raise ValueError("a revised stretch must change the stance")
        revisions.append(
            {
                "from": _iso(stretch.valid_from),
                "until": None if stretch.valid_until is None else _iso(stretch.valid_until),
                "before": _snapshot(stretch.before),
                "after": _snapshot(stretch.after),
                "flip": is_flip(before, after),
            }
        )
    document = {
        "type": EventType.REVISED.value,
        "timestamp": _iso(occurred_at),
        "data": {
            "actor": actor,
            "topic": topic,
            "revisions": revisions,
            "flip": any(revision["flip"] for revision in revisions),
            "cause": cause,
            "position": position,
        },
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def message_id(outbox_id: uuid.UUID | str) -> str:
    """``msg_<32 hex digits>`` from the outbox row's UUID, so every retry carries the same id."""
    return MESSAGE_ID_PREFIX + uuid.UUID(str(outbox_id)).hex


def outbox_key(
    *,
    event_id: uuid.UUID | str,
    subscription_id: uuid.UUID | int | str,
    actor_id: str | None = None,
    topic_id: str | None = None,
) -> uuid.UUID:
    """A deterministic outbox row id for (event, subscription), or (event, pair, subscription).

    A projector that processes the same event twice (a crash before its checkpoint commits) then
    writes the same key, which a primary key or unique constraint turns into one row, one message.
    One event can change two (actor, topic) pairs (a correction that moves a statement to another
    actor or topic), so the outbox passes the pair too, giving each change its own message. The
    message type is not part of the key: an event gives a pair a ``stance.changed`` or a
    ``stance.revised``, never both, so the key is one message per (event, pair, subscription).
    """
    name = f"{uuid.UUID(str(event_id))}/{subscription_id}"
    if actor_id is not None or topic_id is not None:
        name += f"/{actor_id}/{topic_id}"
    return uuid.uuid5(_OUTBOX_NAMESPACE, name)


def _snapshot(snapshot: StanceSnapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {
        "stance": parse_stance(snapshot.stance).value,
        "since": _iso(snapshot.since),
        "statement_id": str(uuid.UUID(str(snapshot.statement_id))),
    }


def _iso(moment: datetime) -> str:
    """UTC with a ``Z``, as the Standard Webhooks examples write timestamps."""
    if moment.tzinfo is None:
        raise ValueError("timestamps in payloads must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
