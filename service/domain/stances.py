"""The stance scale, flips, and the stance rule as a pure function.

Stances are relative to a topic's proposition ("supports" means agreeing with it), so one scale
serves every topic and a change of side is a sign change, whatever the topic says.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from service.domain.errors import UnknownStance


class Stance(StrEnum):
    """Position on a topic's proposition, from firm opposition to firm support."""

    OPPOSES = "opposes"
    LEANS_OPPOSES = "leans_opposes"
    NEUTRAL = "neutral"
    LEANS_SUPPORTS = "leans_supports"
    SUPPORTS = "supports"

    @property
    def score(self) -> int:
        """-2..+2: the sign is the side, the magnitude how firmly it is held."""
        return _SCORES[self]


_SCORES: dict[Stance, int] = {
    Stance.OPPOSES: -2,
    Stance.LEANS_OPPOSES: -1,
    Stance.NEUTRAL: 0,
    Stance.LEANS_SUPPORTS: 1,
    Stance.SUPPORTS: 2,
}


def parse_stance(label: str | Stance, *, field: str = "stance") -> Stance:
    """Read a stance label from outside (API, feed, CLI); unknown labels are a client error."""
    if isinstance(label, Stance):
        return label
    try:
        return Stance(label.strip().lower())
    except (ValueError, AttributeError):
        known = ", ".join(stance.value for stance in Stance)
        raise UnknownStance(
            f"unknown stance {label!r}; expected one of {known}", field=field
        ) from None


def is_flip(previous: Stance | None, current: Stance | None) -> bool:
    """True when the side changes; neutral and no stance belong to neither side, so never flip."""
    if previous is None or current is None:
        return False
    return previous.score * current.score < 0


@dataclass(frozen=True)
class StanceAt:
    """An actor's stance on a topic and the statement it rests on."""

    actor_id: str
    topic_id: str
    stance: Stance
    statement_id: UUID
    stated_at: datetime
    recorded_position: int


def pick_stance(candidates: Iterable[StanceAt], *, as_of: datetime) -> StanceAt | None:
    """The stance rule for one (actor, topic), given its counting statements as known at K.

    The latest ``stated_at`` not after ``as_of`` wins; when two were stated at the same instant the
    one recorded later wins, because a later record is the better-informed one. No candidate means
    no stance: silence is not a stance.
    """
    eligible = [candidate for candidate in candidates if candidate.stated_at <= as_of]
    if not eligible:
        return None
    return max(eligible, key=lambda candidate: (candidate.stated_at, candidate.recorded_position))
