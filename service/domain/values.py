"""Value objects shared by commands and events: kinds, sources, stance cues, the "unchanged" mark.

They live apart from events so that commands (the write side's input) and events (its output) can
both use them without commands depending on the event module.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum

from service.domain.stances import Stance


class Unchanged(Enum):
    """Marks a field an update or correction leaves alone.

    ``None`` cannot play this part: clearing an actor's country or Wikidata id is a real change to
    ``None``. In JSON an unchanged field is simply absent, so a payload lists exactly what changed.
    """

    UNCHANGED = "unchanged"

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged.UNCHANGED


class ActorKind(StrEnum):
    PERSON = "person"
    GROUP = "group"
    INSTITUTION = "institution"
    STATE = "state"


class StatementKind(StrEnum):
    """How the position reached the record; a readout is a counterpart's account of a meeting."""

    DIRECT_QUOTE = "direct_quote"
    PARAPHRASE = "paraphrase"
    READOUT = "readout"
    VOTE = "vote"
    ACTION = "action"


class RecordingMethod(StrEnum):
    """Who turned the source into a statement: a person, an extraction rule, a statement feed."""

    MANUAL = "manual"
    RULE = "rule"
    FEED = "feed"


@dataclass(frozen=True)
class Source:
    """Where a statement was reported; every statement keeps one so it can be checked."""

    url: str
    title: str
    publisher: str
    published_at: datetime | None


@dataclass(frozen=True)
class StanceCues:
    """Phrases that signal each stance on a topic, used by extraction to guess a stance."""

    opposes: tuple[str, ...] = ()
    leans_opposes: tuple[str, ...] = ()
    neutral: tuple[str, ...] = ()
    leans_supports: tuple[str, ...] = ()
    supports: tuple[str, ...] = ()

    def for_stance(self, stance: Stance) -> tuple[str, ...]:
        """The phrases that signal ``stance``."""
        phrases: tuple[str, ...] = getattr(self, stance.value)
        return phrases

    def items(self) -> Iterator[tuple[Stance, tuple[str, ...]]]:
        """Each stance with its phrases, strongest opposition first."""
        for stance in Stance:
            yield stance, self.for_stance(stance)
