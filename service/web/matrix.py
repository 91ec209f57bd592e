"""The stance matrix as a page sees it: actors grouped by country, one cell per topic.

Built from one matrix query (``stances``) and the catalog. A 100 x 50 matrix has 5,000 cells, so
each cell is made here, once, as the few strings its markup needs (class, symbol, label, link and
the text of its tip), and a row's cells are joined into one piece of markup: printing 5,000 cells
through the template's loop and autoescape cost more than the page's matrix query. The tip is the
link's ``title``: without the script it is the browser's own tooltip; the script shows it on hover
and on focus.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final, NamedTuple

from markupsafe import Markup

from service.queries import ActorView, StanceView, TopicView
from service.web.country_names import country_name
from service.web.scale import (
    FLIP_SYMBOL,
    NO_STANCE_LABEL,
    NO_STANCE_SYMBOL,
    kind_label,
    look,
    stance_label,
)
from service.web.templating import day, segment

TIP_QUOTE_CHARS: Final = 240
"""Quotes are cut this short in a cell's tip; the timeline shows them whole."""


class Cell(NamedTuple):
    css: str
    symbol: str
    label: str
    tip: str
    """Lines: who on what; the stance, since when; the quote; its kind and source."""
    href: str
    has_stance: bool


class Row(NamedTuple):
    actor: ActorView
    cells: list[Cell]
    cells_html: Markup
    """The row's ``<td>`` elements, escaped here (see the module's docstring)."""


@dataclass(frozen=True)
class CountryGroup:
    code: str | None
    name: str
    rows: list[Row]


@dataclass(frozen=True)
class Matrix:
    topics: list[TopicView]
    groups: list[CountryGroup]
    stance_count: int

    @property
    def actor_count(self) -> int:
        return sum(len(group.rows) for group in self.groups)


def cut(text: str, limit: int = TIP_QUOTE_CHARS) -> str:
    """``text`` cut at a word boundary before ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip(" ,;:.") + "…"


def _text(source: dict[str, Any], key: str) -> str:
    value = source.get(key)
    return value if isinstance(value, str) else ""


def _tip(subject: str, found: StanceView) -> tuple[str, str]:
    """The tip's text and the stance's label, for a cell with a stance."""
    shown = look(found.stance)
    label = shown.label if shown else found.stance
    stance_line = label
    if found.previous_stance:
        previous = stance_label(found.previous_stance)
        stance_line += f" · flip from {previous}" if found.flip else f" · was {previous}"
    stance_line += f" · since {day(found.since)}"
    statement = found.statement
    source = statement.source if isinstance(statement.source, dict) else {}
    origin = f"{kind_label(statement.kind)} · "
    origin += _text(source, "title") or _text(source, "url") or "no source title"
    if publisher := _text(source, "publisher"):
        origin += f", {publisher}"
    return f"{subject}\n{stance_line}\n“{cut(statement.quote)}”\n{origin}", label


def _cell(subject: str, href: str, found: StanceView | None) -> Cell:
    if found is None:
        return Cell(
            "s-none",
            NO_STANCE_SYMBOL,
            NO_STANCE_LABEL,
            f"{subject}\n{NO_STANCE_LABEL}",
            href,
            False,
        )
    shown = look(found.stance)
    tip, label = _tip(subject, found)
    flip = found.flip and shown is not None
    return Cell(
        css=(shown.css if shown else "s-none") + (" flip" if flip else ""),
        symbol=(shown.symbol if shown else "?") + (f" {FLIP_SYMBOL}" if flip else ""),
        label=label + (", flip" if flip else ""),
        tip=tip,
        href=href,
        has_stance=shown is not None,
    )


def cell_markup(cell: Cell) -> str:
    """One ``<td>``; every text that can come from the record is escaped, quotes included."""
    return (
        f'<td class="{cell.css}"><a href="{escape(cell.href)}" aria-label="{escape(cell.label)}" '
        f'title="{escape(cell.tip)}">{escape(cell.symbol)}</a></td>'
    )


def sorted_topics(topics: Sequence[TopicView]) -> list[TopicView]:
    return sorted(topics, key=lambda topic: (topic.title.casefold(), topic.topic_id))


def build_matrix(
    actors: Sequence[ActorView],
    topics: Sequence[TopicView],
    found: Sequence[StanceView],
    *,
    link_query: str = "",
) -> Matrix:
    """Every actor (a row even when silent, so the shape never changes while replaying) by every
    topic; groups by country name, actors by name within them. ``link_query`` (``?as_of=…``)
    goes on every cell's link, so a timeline opens at the same moment."""
    columns = sorted_topics(topics)
    column_links = [(topic, segment(topic.topic_id)) for topic in columns]
    by_pair = {(view.actor_id, view.topic_id): view for view in found}
    groups: dict[str | None, list[Row]] = {}
    shown = 0
    for actor in sorted(actors, key=lambda a: (a.name.casefold(), a.actor_id)):
        base = f"/actors/{segment(actor.actor_id)}/"
        cells = [
            _cell(
                f"{actor.name} on {topic.title}",
                f"{base}{topic_segment}{link_query}",
                by_pair.get((actor.actor_id, topic.topic_id)),
            )
            for topic, topic_segment in column_links
        ]
        shown += sum(1 for cell in cells if cell.has_stance)
        row = Row(actor, cells, Markup("".join(map(cell_markup, cells))))
        groups.setdefault(actor.country, []).append(row)
    ordered = sorted(groups.items(), key=lambda item: (item[0] is None, country_name(item[0])))
    return Matrix(
        topics=columns,
        groups=[CountryGroup(code, country_name(code), rows) for code, rows in ordered],
        stance_count=shown,
    )
