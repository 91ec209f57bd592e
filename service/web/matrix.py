"""The stance matrix as a page sees it: actors grouped by country, one cell per topic.

Built from one matrix query (``stances``) and the catalog; cells are plain named tuples, because a
100 x 50 matrix has 5,000 of them and the template only reads attributes.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

from service.queries import ActorView, StanceView, TopicView
from service.web.country_names import country_name
from service.web.scale import StanceLook, look, stance_label

TIP_QUOTE_CHARS: Final = 240
"""Quotes are cut this short in a cell's tip; the timeline shows them whole."""


class Cell(NamedTuple):
    topic: TopicView
    look: StanceLook | None
    flip: bool
    previous: str | None
    since: datetime | None
    quote: str
    kind: str
    source_title: str
    source_publisher: str
    source_url: str | None


class Row(NamedTuple):
    actor: ActorView
    cells: list[Cell]


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


def _cell(topic: TopicView, found: StanceView | None) -> Cell:
    if found is None:
        return Cell(topic, None, False, None, None, "", "", "", "", None)
    source = found.statement.source if isinstance(found.statement.source, dict) else {}
    url = source.get("url")
    return Cell(
        topic=topic,
        look=look(found.stance),
        flip=found.flip,
        previous=stance_label(found.previous_stance) if found.previous_stance else None,
        since=found.since,
        quote=cut(found.statement.quote),
        kind=found.statement.kind,
        source_title=_text(source, "title"),
        source_publisher=_text(source, "publisher"),
        source_url=url if isinstance(url, str) else None,
    )


def sorted_topics(topics: Sequence[TopicView]) -> list[TopicView]:
    return sorted(topics, key=lambda topic: (topic.title.casefold(), topic.topic_id))


def build_matrix(
    actors: Sequence[ActorView], topics: Sequence[TopicView], found: Sequence[StanceView]
) -> Matrix:
    """Every actor (a row even when silent, so the shape never changes while replaying) by every
    topic; groups by country name, actors by name within them."""
    columns = sorted_topics(topics)
    by_pair = {(view.actor_id, view.topic_id): view for view in found}
    groups: dict[str | None, list[Row]] = {}
    shown = 0
    for actor in sorted(actors, key=lambda a: (a.name.casefold(), a.actor_id)):
        cells = [_cell(topic, by_pair.get((actor.actor_id, topic.topic_id))) for topic in columns]
        shown += sum(1 for cell in cells if cell.look is not None)
        groups.setdefault(actor.country, []).append(Row(actor, cells))
    ordered = sorted(groups.items(), key=lambda item: (item[0] is None, country_name(item[0])))
    return Matrix(
        topics=columns,
        groups=[CountryGroup(code, country_name(code), rows) for code, rows in ordered],
        stance_count=shown,
    )
