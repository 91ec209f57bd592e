"""The replay controls: a date slider over the span of the statements, and the record's states
in transaction time, one before each revision and one for now.

Transaction times of a whole data set can lie within a second (the demo loads in one go), so a
slider over wall-clock time would be useless for "known at"; what a reader wants is the record as
it stood before each correction or retraction, so those are the slider's stops.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

from service.queries import ActorView, TopicView
from service.queries.record import Revision, StatementSpan
from service.web.matrix import cut

MAX_REVISIONS: Final = 50
"""The known-at control offers the states before the latest this many revisions."""


@dataclass(frozen=True)
class DateSlider:
    """Days from ``start`` (0) to ``end`` (``days``); ``days + 1`` stands for now."""

    start: date
    end: date
    days: int
    value: int

    @property
    def now_value(self) -> int:
        return self.days + 1


@dataclass(frozen=True)
class RecordState:
    index: int
    known_at: datetime | None  # None: now
    label: str
    detail: str


@dataclass(frozen=True)
class KnownAtControl:
    states: list[RecordState]
    index: int
    """The state the chosen ``known_at`` falls in: how many revisions were known then."""
    exact: bool
    """Whether ``known_at`` is one of the states (else a time the user typed)."""


def date_slider(span: StatementSpan, as_of: datetime | None) -> DateSlider | None:
    """From 1 January of the first statement's year (a day before anything was said) to the
    last statement's day; None when nothing was ever stated."""
    if span.first_stated_at is None or span.last_stated_at is None:
        return None
    start = date(span.first_stated_at.astimezone(UTC).year, 1, 1)
    end = max(span.last_stated_at.astimezone(UTC).date(), start)
    days = (end - start).days
    if as_of is None:
        value = days + 1
    else:
        chosen = as_of.astimezone(UTC).date()
        value = min(max((chosen - start).days, 0), days + 1)
    return DateSlider(start=start, end=end, days=days, value=value)


def _what(
    revision: Revision, actors: Mapping[str, ActorView], topics: Mapping[str, TopicView]
) -> str:
    verb = "retraction" if revision.event_type == "StatementRetracted" else "correction"
    actor = actors.get(revision.actor_id)
    topic = topics.get(revision.topic_id)
    actor_name = actor.name if actor else revision.actor_id
    topic_title = topic.title if topic else revision.topic_id
    return f"the {verb} of “{cut(revision.quote, 60)}” ({actor_name} on {topic_title})"


def known_at_control(
    revisions: Sequence[Revision],
    known_at: datetime | None,
    *,
    actors: Mapping[str, ActorView],
    topics: Mapping[str, TopicView],
) -> KnownAtControl:
    states = [
        RecordState(
            index=index,
            known_at=revision.known_just_before,
            label=f"Before {_what(revision, actors, topics)}",
            detail=cut(revision.reason or "", 200),
        )
        for index, revision in enumerate(revisions)
    ]
    count = len(revisions)
    states.append(
        RecordState(
            index=count,
            known_at=None,
            label="Now",
            detail=f"with every revision ({count})" if count else "the record as it stands",
        )
    )
    if known_at is None:
        return KnownAtControl(states=states, index=count, exact=True)
    index = sum(1 for revision in revisions if revision.recorded_at <= known_at)
    exact = any(state.known_at == known_at for state in states)
    return KnownAtControl(states=states, index=index, exact=exact)
