"""What extraction looks for: the actors (names, aliases, surnames) and topics (keywords, cues).

``ExtractionCatalog`` is plain data, built from the catalog's own events or commands, so extraction
can never find an actor or a topic the catalog does not hold. ``compile_catalog`` turns it into
the folded, stemmed patterns the matcher uses; it is cached per catalog value.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from service.domain.commands import DefineTopic, RegisterActor
from service.domain.stances import Stance
from service.domain.values import ActorKind, StanceCues
from service.feeds.lexicon import STOPWORDS
from service.feeds.sentences import Sentence, Token, tokenize


@dataclass(frozen=True)
class ActorEntry:
    actor_id: str
    name: str
    aliases: tuple[str, ...] = ()
    is_person: bool = True  # persons are also found by surname; groups only by full name


@dataclass(frozen=True)
class TopicEntry:
    topic_id: str
    keywords: tuple[str, ...]
    cues: StanceCues
    proposition: str = ""


@dataclass(frozen=True)
class ExtractionCatalog:
    actors: tuple[ActorEntry, ...]
    topics: tuple[TopicEntry, ...]

    @classmethod
    def from_commands(
        cls, actors: Iterable[RegisterActor], topics: Iterable[DefineTopic]
    ) -> "ExtractionCatalog":
        return cls(
            actors=tuple(
                ActorEntry(
                    actor_id=actor.actor_id,
                    name=actor.name,
                    aliases=tuple(actor.aliases),
                    is_person=str(actor.kind) == ActorKind.PERSON.value,
                )
                for actor in actors
            ),
            topics=tuple(
                TopicEntry(
                    topic_id=topic.topic_id,
                    keywords=tuple(topic.keywords),
                    cues=_cues(topic.cues),
                    proposition=topic.proposition,
                )
                for topic in topics
            ),
        )

    @classmethod
    def demo(cls) -> "ExtractionCatalog":
        """The demo data set's actors and topics."""
        from service.demo.catalog import ACTORS, TOPICS

        return cls.from_commands(ACTORS, TOPICS)


def _cues(cues: StanceCues | Mapping[str, Sequence[str]]) -> StanceCues:
    if isinstance(cues, StanceCues):
        return cues
    return StanceCues(**{stance: tuple(phrases) for stance, phrases in cues.items()})


@dataclass(frozen=True)
class Phrase:
    text: str
    stems: tuple[str, ...]


@dataclass(frozen=True)
class Cue:
    phrase: Phrase
    stance: Stance


@dataclass(frozen=True)
class CompiledTopic:
    topic_id: str
    keywords: tuple[Phrase, ...]
    cues: tuple[Cue, ...]
    aligned: tuple[Phrase, ...]  # multi-word keywords the proposition itself states


@dataclass(frozen=True)
class NameVariant:
    actor_id: str
    skeletons: tuple[str, ...]
    how: str  # name, alias or surname


@dataclass(frozen=True)
class CompiledCatalog:
    names: tuple[NameVariant, ...]  # longest first, so "Vladimir Putin" wins over "Putin"
    topics: tuple[CompiledTopic, ...]
    persons: frozenset[str]


@dataclass(frozen=True)
class Mention:
    actor_id: str
    start: int
    end: int
    possessive: bool
    how: str


@dataclass(frozen=True)
class PhraseMatch:
    start: int
    end: int
    gaps: tuple[int, ...]  # token indices skipped inside the match


@lru_cache(maxsize=16)
def compile_catalog(catalog: ExtractionCatalog) -> CompiledCatalog:
    names: list[NameVariant] = []
    for actor in catalog.actors:
        for how, text in [("name", actor.name)] + [("alias", alias) for alias in actor.aliases]:
            names.append(NameVariant(actor.actor_id, _skeletons(text), how))
            if actor.is_person and (surname := _surname(text)):
                names.append(NameVariant(actor.actor_id, (surname,), "surname"))
    unique = {(v.actor_id, v.skeletons): v for v in reversed(names) if v.skeletons}
    ordered = sorted(unique.values(), key=lambda v: -len(v.skeletons))
    return CompiledCatalog(
        names=tuple(ordered),
        topics=tuple(_compile_topic(topic) for topic in catalog.topics),
        persons=frozenset(actor.actor_id for actor in catalog.actors if actor.is_person),
    )


def _compile_topic(topic: TopicEntry) -> CompiledTopic:
    keywords = tuple(p for p in (_phrase(k) for k in topic.keywords) if p.stems)
    proposition = {token.stem for token in tokenize(topic.proposition)}
    aligned = tuple(k for k in keywords if len(k.stems) > 1 and set(k.stems) <= proposition)
    cues = tuple(
        Cue(_phrase(text), stance)
        for stance, phrases in topic.cues.items()
        for text in phrases
        if _phrase(text).stems
    )
    return CompiledTopic(topic.topic_id, keywords, cues, aligned)


def _phrase(text: str) -> Phrase:
    stems = tuple(t.stem for t in tokenize(text) if t.is_word and t.norm not in STOPWORDS)
    return Phrase(text, stems)


def _skeletons(text: str) -> tuple[str, ...]:
    return tuple(token.skel for token in tokenize(text))


def _surname(text: str) -> str | None:
    """The family name in "Vladimir Putin", "Putin V.V." or "Lukashenko A.G."."""
    words = [t for t in tokenize(text) if t.kind == "word"]
    if len(words) < 2:
        return None
    if all(len(w.text) <= 2 for w in words[1:]):  # "Putin V.V.", "Mirziyoyev Sh."
        return words[0].skel
    return words[-1].skel


def find_mentions(sentence: Sentence, compiled: CompiledCatalog) -> list[Mention]:
    """Catalog actors named in the sentence; names must be capitalised, as names are in prose."""
    tokens = sentence.tokens
    mentions: list[Mention] = []
    index = 0
    while index < len(tokens):
        found = None
        if tokens[index].kind == "word" and tokens[index].text[:1].isupper():
            for variant in compiled.names:
                size = len(variant.skeletons)
                window = tuple(t.skel for t in tokens[index : index + size])
                if window == variant.skeletons:
                    found = variant
                    break
        if found is None:
            index += 1
            continue
        end = index + len(found.skeletons)
        possessive = end < len(tokens) and tokens[end].kind == "poss"
        mentions.append(Mention(found.actor_id, index, end, possessive, found.how))
        index = end
    return mentions


def find_phrase(sentence: Sentence, phrase: Phrase, *, max_gap: int) -> list[PhraseMatch]:
    """Occurrences of the phrase's content words in order, at most ``max_gap`` words apart,
    within one stretch of text (no comma, semicolon, bracket or quotation mark in between)."""
    tokens = sentence.tokens
    content = [i for i, t in enumerate(tokens) if t.is_word and t.norm not in STOPWORDS]
    matches: list[PhraseMatch] = []
    for position, first in enumerate(content):
        if tokens[first].stem != phrase.stems[0]:
            continue
        matched, cursor = [first], position
        for wanted in phrase.stems[1:]:
            found = _next_word(tokens, content, cursor, wanted, max_gap)
            if found is None:
                break
            matched.append(content[found])
            cursor = found
        if len(matched) == len(phrase.stems):
            inside = range(first, matched[-1] + 1)
            gaps = tuple(i for i in inside if i not in matched and tokens[i].is_word)
            matches.append(PhraseMatch(first, matched[-1] + 1, gaps))
    return matches


def _next_word(
    tokens: tuple[Token, ...], content: list[int], cursor: int, wanted: str, max_gap: int
) -> int | None:
    """Position in ``content`` of ``wanted`` within ``max_gap`` words after ``cursor``."""
    for candidate in range(cursor + 1, min(cursor + max_gap + 2, len(content))):
        if _broken(tokens, content[cursor], content[candidate]):
            return None
        if tokens[content[candidate]].stem == wanted:
            return candidate
    return None


def _broken(tokens: tuple[Token, ...], left: int, right: int) -> bool:
    return any(t.kind == "punct" and t.text not in "-'" for t in tokens[left + 1 : right])
