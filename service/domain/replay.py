"""The stance rule over a whole log, in memory: the reference the SQL read models must agree with.

Written for obviousness rather than speed: filter by transaction time, fold each statement's
events in position order, keep the statements that count, and let ``pick_stance`` choose per
(actor, topic).
It shares no code with the Statement aggregate on purpose, so a bug there cannot hide here too.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from service.domain.events import (
    DomainEvent,
    StatementApproved,
    StatementCorrected,
    StatementRecorded,
    StatementRejected,
    StatementRetracted,
    changed_fields,
)
from service.domain.stances import Stance, StanceAt, pick_stance


@dataclass(frozen=True)
class LoggedEvent:
    """An event as the log holds it: its global position and the transaction time it was stored."""

    position: int
    recorded_at: datetime
    event: DomainEvent


@dataclass(frozen=True)
class StatementState:
    """A statement as known at some transaction time, after all its events up to then."""

    statement_id: UUID
    actor_id: str
    topic_id: str
    stance: Stance
    stated_at: datetime
    quote: str
    recorded_position: int
    accepted: bool
    rejected: bool = False
    retracted: bool = False

    @property
    def counts(self) -> bool:
        """Accepted (recorded without review, or approved), and neither rejected nor retracted."""
        return self.accepted and not self.rejected and not self.retracted


def fold_statements(
    log: Iterable[LoggedEvent], *, known_at: datetime
) -> dict[UUID, StatementState]:
    """Every statement's latest state from the events recorded at or before ``known_at``."""
    states: dict[UUID, StatementState] = {}
    known = sorted((entry for entry in log if entry.recorded_at <= known_at), key=_position)
    for entry in known:
        event = entry.event
        if isinstance(event, StatementRecorded):
            states[event.statement_id] = StatementState(
                statement_id=event.statement_id,
                actor_id=event.actor_id,
                topic_id=event.topic_id,
                stance=event.stance,
                stated_at=event.stated_at,
                quote=event.quote,
                recorded_position=entry.position,
                accepted=not event.requires_review,
            )
            continue
        if not isinstance(
            event, StatementApproved | StatementRejected | StatementCorrected | StatementRetracted
        ):
            continue
        state = states.get(event.statement_id)
        if state is None:
            raise ValueError(f"position {entry.position}: {event.statement_id} was never recorded")
        if isinstance(event, StatementApproved):
            state = replace(state, accepted=True)
        elif isinstance(event, StatementRejected):
            state = replace(state, rejected=True)
        elif isinstance(event, StatementRetracted):
            state = replace(state, retracted=True)
        else:
            state = replace(state, **_stance_fields(event))
        states[event.statement_id] = state
    return states


def fold_stances(
    log: Iterable[LoggedEvent], *, as_of: datetime, known_at: datetime
) -> dict[tuple[str, str], StanceAt]:
    """Each (actor_id, topic_id)'s stance as of valid time ``as_of``, as known at ``known_at``."""
    candidates: dict[tuple[str, str], list[StanceAt]] = defaultdict(list)
    for state in fold_statements(log, known_at=known_at).values():
        if state.counts:
            candidates[(state.actor_id, state.topic_id)].append(
                StanceAt(
                    actor_id=state.actor_id,
                    topic_id=state.topic_id,
                    stance=state.stance,
                    statement_id=state.statement_id,
                    stated_at=state.stated_at,
                    recorded_position=state.recorded_position,
                )
            )
    stances: dict[tuple[str, str], StanceAt] = {}
    for pair, pair_candidates in candidates.items():
        chosen = pick_stance(pair_candidates, as_of=as_of)
        if chosen is not None:
            stances[pair] = chosen
    return stances


def _position(entry: LoggedEvent) -> int:
    return entry.position


def _stance_fields(event: StatementCorrected) -> dict[str, object]:
    """The corrected fields this fold tracks; source and kind do not affect a stance."""
    tracked = {"actor_id", "topic_id", "stance", "stated_at", "quote"}
    return {name: value for name, value in changed_fields(event.changes).items() if name in tracked}
