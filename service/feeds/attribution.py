"""Who holds a claim: the speaker of a quotation, the subject of a verb, the "he" of "he said".

There is no parser here, only a few surface rules that wire copy follows closely:
- the subject stands before its verb, separated at most by auxiliaries, adverbs, time phrases and
  an appositive between commas ("Lukashenko, who has ruled since 1994, said");
- after a quotation the verb may come first ("..., said President Putin");
- a name right after a preposition ("close to Putin", "unlike Lukashenko") or in the possessive
  ("Putin's spokesman") is never the speaker;
- "he" or "she" is the speaker of the enclosing clause, or else the person the item is about.

Each function answers ``None`` when the rules do not settle it: silence is not a stance, and an
unattributed claim must not become somebody's statement.
"""

from dataclasses import dataclass, field

from service.feeds.catalog import Mention
from service.feeds.lexicon import (
    COORDINATORS,
    GOVERNING,
    NEGATORS,
    PREPOSITIONS,
    PRONOUNS,
    SKIPPABLE,
    stems,
)
from service.feeds.sentences import Sentence, Token

# Pure reporting verbs: a claim inside what someone else says is theirs, not ours to attribute.
REPORTING = stems(
    "say tell state declare warn claim argue insist stress add announce assert reiterate "
    "write explain respond reply answer confirm repeat accuse predict suggest emphasize admit "
    "acknowledge complain mock demand"
)
_QUOTE_MARKS = frozenset('“”"«»„')
_AUXILIARIES = frozenset(
    {"were", "are", "was", "is", "have", "has", "had", "would", "will", "could", "should", "can"}
)
_APPOSITIVE_REACH = 25


@dataclass(frozen=True)
class Holder:
    actors: tuple[str, ...]
    how: str  # the rule that found them, for the explanation
    pronoun: bool = False
    position: int = -1  # where the subject stands, for the "whose clause is it" check


@dataclass
class View:
    """A sentence with its mentions indexed and the item's salient person so far."""

    sentence: Sentence
    mentions: list[Mention]
    salient: str | None = None
    persons: frozenset[str] = frozenset()
    _by_end: dict[int, Mention] = field(default_factory=dict)
    _by_start: dict[int, Mention] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_end = {m.end - 1: m for m in self.mentions}
        self._by_start = {m.start: m for m in self.mentions}

    @property
    def tokens(self) -> tuple[Token, ...]:
        return self.sentence.tokens

    def is_governing(self, index: int) -> bool:
        token = self.tokens[index]
        if not token.is_word or token.stem not in GOVERNING or self._in_name(index):
            return False
        # "NATO states were training": a verb is not followed by an auxiliary, a noun can be.
        following = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
        return following is None or following.norm not in _AUXILIARIES

    def _in_name(self, index: int) -> bool:
        return any(m.start <= index < m.end for m in self.mentions)

    def governors_before(self, index: int) -> list[int]:
        """Verbs (and "according to X", "X:") before ``index``, nearest first, leaving out those
        inside a quotation that ``index`` is not in: a quoted verb has the quote's speaker."""
        own = self.sentence.quote_at(index) if index < len(self.tokens) else None
        return [
            i
            for i in range(index - 1, -1, -1)
            if (self.is_governing(i) or self.pseudo(i)) and self.sentence.quote_at(i) in (None, own)
        ]

    def governors_after(self, index: int) -> list[int]:
        return [i for i in range(index, len(self.tokens)) if self.is_governing(i) or self.pseudo(i)]

    def pseudo(self, index: int) -> bool:
        tokens = self.tokens
        if tokens[index].norm == "according" and index + 1 < len(tokens):
            return tokens[index + 1].norm == "to" and index + 2 in self._by_start
        return tokens[index].text == ":" and index - 1 in self._by_end


def subject_of(view: View, verb: int) -> Holder | str | None:
    """The subject of the verb at ``verb``: a ``Holder``, "other" (not in the catalog) or None."""
    tokens = view.tokens
    if tokens[verb].norm == "according":
        mention = view._by_start[verb + 2]
        return Holder((mention.actor_id,), f"'according to {_text(view, mention)}'")
    if tokens[verb].text == ":":
        mention = view._by_end[verb - 1]
        return Holder((mention.actor_id,), f"'{_text(view, mention)}:'")
    if verb > 0 and tokens[verb - 1].text in _QUOTE_MARKS | {","}:
        for index in range(verb + 1, min(verb + 7, len(tokens))):
            if index in view._by_start and not view._by_start[index].possessive:
                mention = view._by_start[index]
                how = f"'{tokens[verb].text} {_text(view, mention)}' after a quotation"
                return Holder((mention.actor_id,), how)
            if not tokens[index].is_word:
                break
    found = scan_subject(view, verb)
    participle = tokens[verb].norm.endswith("ing") and verb > 0 and tokens[verb - 1].text == ","
    if found == "coordinated" or (participle and not isinstance(found, Holder)):
        # "X reiterated that ... and said ...": the subject of the first verb that has one.
        for earlier in view.governors_before(verb):
            shared = subject_of(view, earlier)
            if isinstance(shared, Holder):
                return shared
        return None
    if isinstance(found, Holder) and not found.how.startswith("subject of"):
        how = f"subject of '{tokens[verb].text}' ({found.how})"
        return Holder(found.actors, how, found.pronoun, found.position)
    return found


def scan_subject(view: View, index: int) -> Holder | str | None:
    """Walk back from ``index`` to the subject of the clause it belongs to."""
    tokens = view.tokens
    position = index - 1
    while position >= 0:
        token = tokens[position]
        if position in view._by_end:
            return _mention_subject(view, view._by_end[position])
        if token.kind == "poss":
            return "other"
        if token.norm in PRONOUNS:
            return _pronoun(view, position)
        if token.text == ",":
            position = _across_appositive(view, position)
            if position is None:
                return "other"
            continue
        if token.norm in COORDINATORS:
            return "coordinated"
        if _skippable(view, position):
            position -= 1
            continue
        return "other"
    return None


def _skippable(view: View, index: int) -> bool:
    token = view.tokens[index]
    if token.kind == "number":
        return True
    if token.kind != "word":
        return False
    adverb = token.norm.endswith("ly") and len(token.norm) > 4
    return adverb or token.stem in SKIPPABLE or token.stem in NEGATORS or view.is_governing(index)


def _across_appositive(view: View, comma: int) -> int | None:
    """From the comma closing an appositive to the name before it ("X, the leader, said")."""
    if comma - 1 in view._by_end:
        return comma - 1
    for opening in range(comma - 1, max(comma - _APPOSITIVE_REACH, 0), -1):
        if view.tokens[opening].text == ",":
            return opening - 1 if opening - 1 in view._by_end else None
    return None


def _mention_subject(view: View, mention: Mention) -> Holder | str:
    tokens = view.tokens
    if mention.possessive:
        return "other"
    before = mention.start - 1
    if before >= 0 and tokens[before].is_word and tokens[before].stem in PREPOSITIONS:
        return "other"
    actors = [mention.actor_id]
    cursor, joined = mention.start - 1, False
    # "A and B said", "A, B and C said"; a comma alone ("Unlike A, B said") joins nothing.
    while cursor >= 1 and cursor - 1 in view._by_end:
        if tokens[cursor].norm == "and":
            joined = True
        elif tokens[cursor].norm != "," or not joined:
            break
        partner = view._by_end[cursor - 1]
        actors.insert(0, partner.actor_id)
        cursor = partner.start - 1
    how = " and ".join(_text(view, m) for m in view.mentions if m.actor_id in actors)
    return Holder(tuple(dict.fromkeys(actors)), f"named '{how}'", position=mention.start)


def _pronoun(view: View, index: int) -> Holder | None:
    for verb in view.governors_before(index):
        found = subject_of(view, verb)
        if isinstance(found, Holder):
            how = f"'{view.tokens[index].text}' = {found.how}"
            return Holder(found.actors, how, True, index)
    if view.salient is None:
        return None
    how = f"'{view.tokens[index].text}' = {view.salient}, the person the item is about"
    return Holder((view.salient,), how, True, index)


def quote_speaker(view: View, quote: int) -> Holder | None:
    """Who the quotation is attributed to: "“...,” X said", "X said: “...”", "“...” he said"."""
    tokens = view.tokens
    start, end = view.sentence.quotes[quote]
    after = end + 1
    while after < len(tokens) and tokens[after].text in {",", "”", '"', "»"}:
        after += 1
    for verb in range(after, min(after + 8, len(tokens))):
        if view.is_governing(verb):
            found = subject_of(view, verb)
            return found if isinstance(found, Holder) else None
        if not (tokens[verb].is_word or tokens[verb].text == ","):
            break
    for verb in view.governors_before(start - 1):
        found = subject_of(view, verb)
        return found if isinstance(found, Holder) else None
    return None


def salient_person(view: View) -> str | None:
    """The person a sentence is about: its first named subject, else its first eligible name."""
    for verb in range(len(view.tokens)):
        if view.is_governing(verb):
            found = subject_of(view, verb)
            single = isinstance(found, Holder) and len(found.actors) == 1 and not found.pronoun
            if single and found.actors[0] in view.persons:
                return found.actors[0]
    for mention in view.mentions:
        subject = _mention_subject(view, mention)
        if isinstance(subject, Holder) and mention.actor_id in view.persons:
            return mention.actor_id
    return None


def _text(view: View, mention: Mention) -> str:
    return view.sentence.span_text(mention.start, mention.end)
