"""Claims in one sentence: (holder, topic, stance) with the evidence and a confidence.

A claim starts from stance evidence, never from a name: a topic cue found in the sentence, or a
generic stance verb ("backed", "opposed") governing a keyword that restates the proposition. The
evidence then needs a topic (a keyword), a polarity (negation before it), and a holder (see
``attribution``). Whatever cannot be settled is left out, with a note saying why.
"""

from dataclasses import dataclass

from service.domain.stances import Stance
from service.domain.values import StatementKind
from service.feeds.attribution import REPORTING, Holder, View, quote_speaker, scan_subject
from service.feeds.attribution import subject_of as verb_subject
from service.feeds.catalog import CompiledTopic, PhraseMatch, find_phrase
from service.feeds.lexicon import (
    CLAUSE_BREAKS,
    DETERMINERS,
    EVALUATIVE,
    EVASION_PAIRS,
    EVASIONS,
    NEGATOR_PAIRS,
    NEGATORS,
    NEUTRAL_WORDS,
    NON_ANSWERS,
    OPPOSE_VERBS,
    PASSIVE,
    RESTRICTIONS,
    SUPPORT_VERBS,
)

_FLIP = {
    Stance.OPPOSES: Stance.SUPPORTS,
    Stance.LEANS_OPPOSES: Stance.LEANS_SUPPORTS,
    Stance.NEUTRAL: Stance.NEUTRAL,
    Stance.LEANS_SUPPORTS: Stance.LEANS_OPPOSES,
    Stance.SUPPORTS: Stance.OPPOSES,
}
_NEGATION_REACH = 6  # words before the cue that can negate it
_GENERIC_REACH = 3  # words between a generic stance verb and the keyword it governs
_OBJECT_REACH = 10  # words after "rejected"/"refused" in which the rejected thing must be named
_MIN_QUOTE_WORDS = 4  # shorter quoted fragments are scare quotes inside a paraphrase


@dataclass(frozen=True)
class Evidence:
    match: PhraseMatch
    stance: Stance
    text: str
    head: str  # stem of the first word, to tell judgements ("condemn") from acts ("send")
    generic: bool = False


@dataclass(frozen=True)
class Claim:
    actor_id: str
    topic_id: str
    stance: Stance
    confidence: float
    kind: StatementKind
    quote: str
    span: tuple[int, int]
    independent_keyword: bool  # a keyword outside the cue itself, for topics sharing a cue
    reasons: tuple[str, ...]


def find_claims(
    view: View, topics: tuple[CompiledTopic, ...], *, context_topics: frozenset[str]
) -> tuple[list[Claim], list[str]]:
    """Every claim the sentence supports, and notes on the evidence that was dropped."""
    claims: list[Claim] = []
    notes: list[str] = []
    for topic in topics:
        keywords = [
            (keyword.text, match)
            for keyword in topic.keywords
            for match in find_phrase(view.sentence, keyword, max_gap=1)
        ]
        in_context = topic.topic_id in context_topics
        for evidence in _evidence(view, topic):
            claim, note = _claim(view, topic, evidence, keywords, in_context)
            claims.extend(claim)
            if note:
                notes.append(f"{topic.topic_id}: '{evidence.text}': {note}")
    return _resolve_shared_cues(claims), notes


def _evidence(view: View, topic: CompiledTopic) -> list[Evidence]:
    found = [
        Evidence(match, cue.stance, cue.phrase.text, cue.phrase.stems[0])
        for cue in topic.cues
        for match in find_phrase(view.sentence, cue.phrase, max_gap=2)
    ]
    if found:
        return found
    tokens = view.tokens
    for keyword in topic.aligned:
        for match in find_phrase(view.sentence, keyword, max_gap=1):
            for verb in range(match.start - 1, max(match.start - _GENERIC_REACH - 2, -1), -1):
                if tokens[verb].kind == "punct":
                    break
                stem = tokens[verb].stem
                if stem in SUPPORT_VERBS or stem in OPPOSE_VERBS or stem in NEUTRAL_WORDS:
                    stance = (
                        Stance.SUPPORTS
                        if stem in SUPPORT_VERBS
                        else Stance.OPPOSES
                        if stem in OPPOSE_VERBS
                        else Stance.NEUTRAL
                    )
                    span = PhraseMatch(verb, match.end, ())
                    text = view.sentence.span_text(verb, match.end)
                    found.append(Evidence(span, stance, text, stem, generic=True))
                    break
    return found


def _claim(
    view: View,
    topic: CompiledTopic,
    evidence: Evidence,
    keywords: list[tuple[str, PhraseMatch]],
    in_context: bool,
) -> tuple[list[Claim], str | None]:
    match, reasons = evidence.match, []
    single_word = " " not in evidence.text.strip() and not evidence.generic
    if single_word and evidence.head in NEGATORS and not _object_named(view, match, keywords):
        return [], "a bare rejection must name what it rejects"
    if keywords:
        reasons.append(f"topic by keyword '{keywords[0][0]}'")
    elif in_context and not single_word:
        reasons.append("topic by keyword in the headline or lede")
    else:
        return [], "no topic keyword in the sentence"
    stance, polarity = _polarity(view, evidence, keywords)
    if stance is None:
        return [], polarity
    reasons.append(
        f"stance {stance.value} by {'verb' if evidence.generic else 'cue'} "
        f"'{evidence.text}'{polarity}"
    )
    quote = view.sentence.quote_at(match.start)
    holder, why = _holder(view, match, quote)
    if holder is None:
        return [], why
    reasons.insert(0, f"actor by {holder.how}")
    direct = quote is not None and _quote_words(view, quote) >= _MIN_QUOTE_WORDS
    confidence = 0.5 + (0.05 if evidence.generic else 0.2) + (0.15 if direct else 0.0)
    confidence += -0.1 if holder.pronoun else 0.1
    confidence -= 0.0 if keywords else 0.1
    confidence -= 0.05 if polarity else 0.0
    if direct and quote is not None:
        start, end = view.sentence.quotes[quote]
        text, kind = view.sentence.span_text(start, end), StatementKind.DIRECT_QUOTE
    else:
        text, kind = view.sentence.text, StatementKind.PARAPHRASE
    independent = any(not (k.start < match.end and match.start < k.end) for _, k in keywords)
    return [
        Claim(
            actor_id=actor,
            topic_id=topic.topic_id,
            stance=stance,
            confidence=round(min(max(confidence, 0.3), 0.95), 2),
            kind=kind,
            quote=text,
            span=(match.start, match.end),
            independent_keyword=independent,
            reasons=tuple(reasons),
        )
        for actor in holder.actors
    ], None


def _object_named(view: View, match: PhraseMatch, keywords: list[tuple[str, PhraseMatch]]) -> bool:
    """Whether the rejected thing is named: a keyword right after the verb ("rejected the lab"),
    or, in the passive ("the lab request had been refused"), right before it."""
    tokens = view.tokens
    passive = match.start > 0 and tokens[match.start - 1].norm in PASSIVE
    for _, keyword in keywords:
        if match.end <= keyword.start <= match.end + _OBJECT_REACH:
            between = tokens[match.end : keyword.start]
        elif passive and match.start - _OBJECT_REACH <= keyword.end <= match.start:
            between = tokens[keyword.end : match.start]
        else:
            continue
        if not any(t.kind == "punct" and t.text in ",;:" for t in between):
            return True
    return False


def _restricted(view: View, match: PhraseMatch) -> bool:
    """Whether "only if/when/after" follows the cue in the same sentence."""
    tokens = view.tokens
    pairs = ((tokens[i].norm, tokens[i + 1].norm) for i in range(match.end, len(tokens) - 1))
    return any(pair in RESTRICTIONS for pair in pairs)


def _polarity(
    view: View, evidence: Evidence, keywords: list[tuple[str, PhraseMatch]]
) -> tuple[Stance | None, str]:
    """The stance after negation, and a note on the negation ("" when there was none).

    Words of a topic keyword never negate: "the war against Ukraine was justified" names the
    topic with "against", it does not deny the justification.
    """
    tokens = view.tokens
    in_keyword = {i for _, k in keywords for i in range(k.start, k.end)}
    start, words = evidence.match.start, 0
    while start > 0 and words < _NEGATION_REACH:
        token = tokens[start - 1]
        if (token.kind == "punct" and token.text not in "-'") or token.stem in CLAUSE_BREAKS:
            break
        start -= 1
        words += token.is_word
    window = [
        index
        for index in (*range(start, evidence.match.start), *evidence.match.gaps)
        if index not in in_keyword
    ]
    negators, evasive = [], False
    for index in window:
        token, following = tokens[index], tokens[index + 1 : index + 4]
        pair = (token.stem, following[0].norm) if following else None
        if token.stem in EVASIONS or pair in EVASION_PAIRS:
            if any(t.stem in NON_ANSWERS for t in following):
                return None, f"'{token.text}' to say: silence, not a stance"
            evasive = True
        elif token.stem in NEGATORS or pair in NEGATOR_PAIRS:
            negators.append(token.text)
    if evasive:
        return Stance.NEUTRAL, ", sidestepped: neutral"
    if len(negators) % 2 == 0:
        if _restricted(view, evidence.match) and evidence.stance.score:
            reluctant = Stance.LEANS_OPPOSES if evidence.stance.score > 0 else Stance.LEANS_SUPPORTS
            return reluctant, ", only under a condition: reluctance"
        return evidence.stance, (f", double negation {negators}" if negators else "")
    if evidence.head in EVALUATIVE:
        return Stance.NEUTRAL, f", negated judgement ('{negators[0]}'): neutral"
    return _FLIP[evidence.stance], f", negated by '{negators[0]}'"


def _holder(view: View, match: PhraseMatch, quote: int | None) -> tuple[Holder | None, str]:
    start = match.start
    while start > 0 and view.tokens[start - 1].norm in DETERMINERS:
        start -= 1  # "the stationing of ...": the subject stands before the whole noun phrase
    if quote is not None:
        speaker = quote_speaker(view, quote)
        if speaker is None:
            return None, "quotation not attributed to a catalog actor"
        inner = scan_subject(view, start)
        if isinstance(inner, Holder) and not inner.pronoun and inner.actors != speaker.actors:
            return None, "quotation speaks about another actor"
        return Holder(speaker.actors, f"quotation of {speaker.how}", speaker.pronoun), ""
    local = scan_subject(view, start)
    if isinstance(local, Holder):
        if local.pronoun:
            return local, ""
        for verb in view.governors_before(local.position):
            outer = verb_subject(view, verb)
            if isinstance(outer, Holder):
                if set(local.actors) <= set(outer.actors):
                    break
                return None, f"said by {outer.how} about another actor"
            if outer == "other" and view.tokens[verb].stem in REPORTING:
                return None, "reported by someone outside the catalog"
        return local, ""
    for verb in view.governors_before(match.start):
        outer = verb_subject(view, verb)
        if isinstance(outer, Holder):
            return outer, ""
        if outer == "other" and view.tokens[verb].stem in REPORTING:
            return None, "in the words of someone outside the catalog"
    for verb in view.governors_after(match.end):
        between = view.tokens[match.end : verb]
        if any(t.text in {",", "”", '"'} for t in between):
            outer = verb_subject(view, verb)
            if isinstance(outer, Holder):
                return outer, ""
    return None, "no catalog actor says it"


def _quote_words(view: View, quote: int) -> int:
    start, end = view.sentence.quotes[quote]
    return sum(1 for token in view.tokens[start:end] if token.is_word)


def _resolve_shared_cues(claims: list[Claim]) -> list[Claim]:
    """When one phrase is a cue of two topics ("sent troops": CSTO, or Belarus's troops), keep
    the topic that also has a keyword of its own in the sentence."""
    kept = []
    for claim in claims:
        rivals = [
            other
            for other in claims
            if other.actor_id == claim.actor_id
            and other.topic_id != claim.topic_id
            and other.span[0] < claim.span[1]
            and claim.span[0] < other.span[1]
        ]
        if not claim.independent_keyword and any(r.independent_keyword for r in rivals):
            continue
        kept.append(claim)
    return kept
