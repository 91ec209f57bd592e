"""Word-level knowledge for extraction: folding, stemming, name skeletons and word classes.

Everything is compared in a normal form so that the catalog's phrases and the news text meet
halfway: ``fold`` removes case and diacritics (transliterating Slavic letters the way English
wires do: š → sh, so Łukašenka meets Lukashenka), ``stem`` strips English inflection (refused,
refuses, refusing → refus; recognise → recogniz), and ``skeleton`` folds the transliteration
variants of Central Asian and Slavic names (Tokayev/Tokaev/Toqaev, Japarov/Zhaparov/Dzhaparov).

The word classes are listed as plain words and stemmed on import, so they match whatever
inflection the text uses.
"""

import re
import unicodedata

_TRANSLIT = str.maketrans(
    {
        "š": "sh", "Š": "Sh", "ž": "zh", "Ž": "Zh", "č": "ch", "Č": "Ch", "ł": "l", "Ł": "L",
        "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae", "Æ": "Ae", "œ": "oe",
        "ı": "i", "‐": "-", "‑": "-", "’": "'", "ʼ": "'",
    }
)  # fmt: skip
_IRREGULAR = {
    "said": "say", "told": "tell", "sent": "send", "withdrew": "withdraw", "withdrawn": "withdraw",
    "gave": "give", "given": "give", "made": "make", "took": "take", "taken": "take",
    "spoke": "speak", "spoken": "speak", "wrote": "write", "written": "write", "went": "go",
    "gone": "go", "came": "come", "began": "begin", "begun": "begin", "held": "hold",
    "upheld": "uphold", "kept": "keep", "met": "meet", "sought": "seek", "thought": "think",
    "stood": "stand", "chose": "choose", "chosen": "choose", "saw": "see", "seen": "see",
}  # fmt: skip
_VOWEL_Y = re.compile(r"(?<=[aeiou])y(?=[aeiou])")
_DOUBLE = re.compile(r"(.)\1")


def fold(word: str) -> str:
    """Lowercase, transliterated, without diacritics."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_TRANSLIT))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def stem(folded: str) -> str:
    """A crude English stem of a folded word; the same crude stem on both sides is what counts."""
    word = _IRREGULAR.get(folded, folded)
    if len(word) <= 3 or not word.isalpha():
        return word
    for british, american in (("isation", "ization"), ("ising", "izing"), ("ised", "ized")):
        if word.endswith(british):
            word = word[: -len(british)] + american
    if word.endswith("ise") or word.endswith("ises"):
        word = word.replace("ise", "ize") if word.endswith("ise") else word[:-4] + "izes"
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) > 4:
        word = _undouble(word[:-2])
    elif (
        word.endswith("es") and len(word) > 4 and (word[-3] in "sxz" or word[-4:-2] in ("ch", "sh"))
    ):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    trimmed = word.rstrip("e")  # agree, agreed, agreeing → agr; state, stated → stat
    return trimmed if len(trimmed) >= 3 else word


def _undouble(word: str) -> str:
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        return word[:-1]
    return word


def skeleton(folded: str) -> str:
    """The transliteration-insensitive form of a name token (Tokayev, Tokaev, Toqaev → tokaev)."""
    word = folded.replace("dzh", "j").replace("zh", "j").replace("kh", "h").replace("q", "k")
    word = _VOWEL_Y.sub("", word).replace("y", "i")
    return _DOUBLE.sub(r"\1", word)


def stems(words: str) -> frozenset[str]:
    return frozenset(stem(fold(word)) for word in words.split())


# Verbs whose grammatical subject holds what follows them: speech acts and decisions.
GOVERNING = stems(
    "say tell state declare warn reject recognize urge insist stress add announce claim "
    "argue vow pledge promise deny assert reiterate accuse call write dismiss agree ask complain "
    "predict suggest emphasize admit acknowledge confirm repeat respond reply answer explain "
    "demand refuse decline hope signal praise condemn criticize welcome thank request appeal "
    "sign order approve decide allow justify defend back support oppose mock reaffirm uphold "
    "respect threaten offer propose endorse denounce blame rule send"
)
# Turn what follows into its opposite ("refused to send troops", "rejected claims that ...").
NEGATORS = stems(
    "not no never neither nor without refuse refusal reject rejection deny dismiss abandon "
    "scrap renounce oppose against condemn criticize"
)
# Two-word negators: (first stem, second stem).
NEGATOR_PAIRS = frozenset({(stem("rule"), "out"), ("no", "longer")})
# Sidestepping: "declined to", "stopped short of", "refrained from", "avoided".
EVASIONS = stems("decline refrain avoid sidestep")
EVASION_PAIRS = frozenset({(stem("stopped"), "short")})
# After an evasion, these mean "would not say" (silence, no statement), not a neutral stance.
NON_ANSWERS = stems("say comment answer specify reveal elaborate confirm whether")
# Judgements whose negation is abstention, not the opposite ("refused to condemn" is not support).
EVALUATIVE = stems("condemn criticize denounce praise blame applaud")
# Generic stance verbs, used only with keywords that restate the topic's proposition.
SUPPORT_VERBS = stems("support back endorse welcome favor favour approve defend justify")
OPPOSE_VERBS = stems("oppose condemn denounce criticize reject")
NEUTRAL_WORDS = stems("neutral neutrality impartial")
# "would join the war only if attacked": a restrictive condition turns a stance into reluctance.
RESTRICTIONS = frozenset({("only", "if"), ("only", "when"), ("only", "after"), ("only", "once")})
PASSIVE = frozenset({"been", "was", "were", "be", "is", "are", "being"})
# Words that open the noun phrase a cue may start inside ("the stationing of ...").
DETERMINERS = frozenset({"the", "a", "an", "its", "his", "her", "their", "our"})

# Tokens a subject may be separated from its verb by: auxiliaries, adverbs, time expressions.
SKIPPABLE = stems(
    "has have had having is was were be been being will would shall should can could may might "
    "must do does did doesn didn don isn wasn won wouldn hasn haven hadn aren weren couldn "
    "shouldn also again then later earlier repeatedly publicly openly previously reportedly once "
    "already still now ever firmly flatly categorically strongly privately recently personally "
    "himself herself on in at during last this week month year monday tuesday wednesday "
    "thursday friday saturday sunday yesterday today tonight morning afternoon evening night "
    "january february march april may june july august september october november december "
    "to out not never no so"
) | {"st"}
# A name right after one of these is an object or a comparison, never the speaker.
PREPOSITIONS = stems(
    "to of with by for from about against at on in unlike like than toward towards under "
    "between among including without as into over"
)
PRONOUNS = frozenset({"he", "she"})
COORDINATORS = frozenset({"and", "but"})
CLAUSE_BREAKS = stems("but while whereas although though however unlike")
STOPWORDS = frozenset({"the", "a", "an", "to", "of"})
