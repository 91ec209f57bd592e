"""Statements from news items: deterministic rules, each result explained.

A statement needs all three: a holder (a catalog actor who says or does it: the speaker of a
quotation, the subject of a verb, "he" resolved to a named person), a topic (a keyword in the
sentence, or, for a multi-word cue, in the headline or lede), and a stance (a topic cue, or a
generic stance verb governing a keyword that restates the proposition), with negation applied.
The rules live in ``attribution`` (who) and ``claims`` (what); this module walks an item's
sentences, keeps one statement per (actor, topic), and turns it into a ``RecordStatement``.

Only actors and topics of the catalog can come out: every holder is a catalog mention, every
topic a catalog topic. Statement ids are UUID 5 of feed, item, actor and topic, so polling the
same item again proposes the same statements, which the event store then ignores.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from service.domain.commands import RecordStatement
from service.domain.validation import MAX_QUOTE_LENGTH
from service.domain.values import RecordingMethod, Source
from service.feeds.attribution import View, salient_person
from service.feeds.catalog import (
    ActorEntry,
    CompiledCatalog,
    ExtractionCatalog,
    TopicEntry,
    compile_catalog,
    find_mentions,
    find_phrase,
)
from service.feeds.claims import Claim, find_claims
from service.feeds.items import FeedItem
from service.feeds.sentences import Sentence, split_sentences

__all__ = [
    "ActorEntry",
    "Extraction",
    "ExtractionCatalog",
    "ExtractionResult",
    "TopicEntry",
    "extract_statements",
    "extracted_statement_id",
]

EXTRACTION_NAMESPACE = UUID("0e4c6a52-9b1f-4a57-8f3e-6d2b7c1a9e44")
# Two claims on one (actor, topic) with opposite signs: keep the stronger only if clearly stronger.
_CLEAR_MARGIN = 0.1


@dataclass(frozen=True)
class Extraction:
    command: RecordStatement
    explanation: tuple[str, ...]  # which rules fired, in order, for people debugging a result


@dataclass(frozen=True)
class ExtractionResult:
    statements: tuple[Extraction, ...]
    notes: tuple[str, ...]  # evidence that was found and dropped, and why


def extracted_statement_id(feed_id: str, guid_hash: str, actor_id: str, topic_id: str) -> UUID:
    return uuid5(EXTRACTION_NAMESPACE, f"{feed_id}:{guid_hash}:{actor_id}:{topic_id}")


def extract_statements(
    item: FeedItem,
    *,
    catalog: ExtractionCatalog,
    feed_id: str,
    publisher: str,
    observed_at: datetime,
) -> ExtractionResult:
    """The statements an item reports; ``observed_at`` dates items that carry no date."""
    compiled = compile_catalog(catalog)
    sentences = _sentences(item)
    context = _context_topics(sentences, compiled)
    claims: list[tuple[int, Claim]] = []
    notes: list[str] = []
    salient: str | None = None
    for number, sentence in enumerate(sentences):
        view = View(sentence, find_mentions(sentence, compiled), salient, compiled.persons)
        found, dropped = find_claims(view, compiled.topics, context_topics=context)
        claims.extend((number, claim) for claim in found)
        notes.extend(f"sentence {number}: {note}" for note in dropped)
        if not sentence.is_title:
            salient = salient_person(view) or salient
    url = _source_url(item)
    if url is None:
        notes.append("item has no link to cite as source; nothing recorded")
        return ExtractionResult((), tuple(notes))
    stated_at = min(item.published_at or observed_at, observed_at)
    source = Source(
        url=url, title=item.title or url, publisher=publisher, published_at=item.published_at
    )
    chosen = _one_per_pair(claims, notes)
    statements = tuple(
        Extraction(
            command=RecordStatement(
                statement_id=extracted_statement_id(
                    feed_id, item.guid_hash, claim.actor_id, claim.topic_id
                ),
                actor_id=claim.actor_id,
                topic_id=claim.topic_id,
                stance=claim.stance,
                quote=claim.quote[:MAX_QUOTE_LENGTH],
                stated_at=stated_at,
                kind=claim.kind,
                source=source,
                confidence=claim.confidence,
                method=RecordingMethod.FEED,
            ),
            explanation=(f"sentence {number}: {sentences[number].text}", *claim.reasons),
        )
        for number, claim in chosen
    )
    return ExtractionResult(statements, tuple(notes))


def _sentences(item: FeedItem) -> list[Sentence]:
    """The headline first, then each paragraph's sentences."""
    sentences = split_sentences(item.title, is_title=True) if item.title.strip() else []
    for paragraph in item.text.split("\n"):
        if paragraph.strip():
            sentences.extend(split_sentences(paragraph))
    return sentences


def _context_topics(sentences: list[Sentence], compiled: CompiledCatalog) -> frozenset[str]:
    """Topics the headline or the lede names: what the whole item is about."""
    lead = [s for s in sentences if s.is_title][:1] + [s for s in sentences if not s.is_title][:1]
    return frozenset(
        topic.topic_id
        for topic in compiled.topics
        for sentence in lead
        if any(find_phrase(sentence, keyword, max_gap=1) for keyword in topic.keywords)
    )


def _one_per_pair(claims: list[tuple[int, Claim]], notes: list[str]) -> list[tuple[int, Claim]]:
    """One claim per (actor, topic): the most confident; opposite sides too close to call: none."""
    by_pair: dict[tuple[str, str], list[tuple[int, Claim]]] = {}
    for number, claim in claims:
        by_pair.setdefault((claim.actor_id, claim.topic_id), []).append((number, claim))
    chosen = []
    for (actor, topic), candidates in by_pair.items():
        ranked = sorted(candidates, key=lambda c: (-c[1].confidence, -abs(c[1].stance.score)))
        best = ranked[0][1]
        rivals = [c for _, c in ranked[1:] if c.stance.score * best.stance.score < 0]
        if rivals and best.confidence - rivals[0].confidence < _CLEAR_MARGIN:
            notes.append(f"{actor}/{topic}: conflicting stances in one item; nothing recorded")
            continue
        chosen.append(ranked[0])
    return sorted(chosen, key=lambda pair: pair[0])


def _source_url(item: FeedItem) -> str | None:
    if item.link:
        return item.link
    guid = item.guid or ""
    return guid if guid.startswith(("http://", "https://")) else None
