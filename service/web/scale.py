"""How stances look: a label, a symbol and a colour class for each point of the scale.

Colour is never the only signal: every cell also carries its symbol and, for assistive
technology, its label. The legend renders these, and the page's script reads them from the
legend rather than keeping a copy, so the server stays the one place they are defined.
"""

from dataclasses import dataclass
from typing import Final

from service.domain.stances import Stance


@dataclass(frozen=True)
class StanceLook:
    stance: str
    score: int
    label: str
    symbol: str
    css: str


_LABELS: Final = {
    Stance.OPPOSES: ("Opposes", "−−"),
    Stance.LEANS_OPPOSES: ("Leans opposes", "−"),
    Stance.NEUTRAL: ("Neutral", "0"),
    Stance.LEANS_SUPPORTS: ("Leans supports", "+"),
    Stance.SUPPORTS: ("Supports", "++"),
}

SCALE: Final[tuple[StanceLook, ...]] = tuple(
    StanceLook(stance.value, stance.score, label, symbol, f"s-{stance.value.replace('_', '-')}")
    for stance, (label, symbol) in _LABELS.items()
)
"""From opposes to supports: the order of the diverging colour scale."""

BY_STANCE: Final[dict[str, StanceLook]] = {look.stance: look for look in SCALE}
FLIP_SYMBOL: Final = "⇄"
NO_STANCE_SYMBOL: Final = "·"
NO_STANCE_LABEL: Final = "No stance"


def look(stance: str | None) -> StanceLook | None:
    """The look of a stance label; None for no stance (or a label this version does not know)."""
    return None if stance is None else BY_STANCE.get(stance)


def stance_label(stance: str | None) -> str:
    found = look(stance)
    if found is not None:
        return found.label
    return NO_STANCE_LABEL if stance is None else stance


def kind_label(kind: str) -> str:
    """``direct_quote`` → ``direct quote``: the statement kinds read as words."""
    return kind.replace("_", " ")
