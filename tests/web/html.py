"""Just enough HTML reading for the page tests: the matrix's cells by (actor, topic).

Rows carry ``data-actor``, header cells ``data-topic``; a cell is the n-th ``td`` of its row.
"""

from html.parser import HTMLParser
from typing import NamedTuple


class Cell(NamedTuple):
    classes: frozenset[str]
    href: str
    label: str
    tip: str
    symbol: str

    @property
    def stance_class(self) -> str:
        return next(c for c in self.classes if c.startswith("s-"))


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.topics: list[str] = []
        self.cells: dict[tuple[str, str], Cell] = {}
        self._actor: str | None = None
        self._column = 0
        self._classes: frozenset[str] | None = None
        self._link: dict[str, str] = {}
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "th" and "data-topic" in values:
            self.topics.append(values["data-topic"])
        elif tag == "tr":
            self._actor, self._column = values.get("data-actor"), 0
        elif tag == "td" and self._actor is not None:
            self._classes, self._link, self._text = frozenset(values["class"].split()), {}, []
        elif tag == "a" and self._classes is not None:
            self._link = values

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._actor is not None and self._classes is not None:
            topic = self.topics[self._column]
            self.cells[(self._actor, topic)] = Cell(
                classes=self._classes,
                href=self._link.get("href", ""),
                label=self._link.get("aria-label", ""),
                tip=self._link.get("title", ""),
                symbol="".join(self._text),
            )
            self._column += 1
            self._classes = None

    def handle_data(self, data: str) -> None:
        if self._classes is not None:
            self._text.append(data)


def matrix_cells(page: str) -> dict[tuple[str, str], Cell]:
    """(actor, topic) → the cell's classes, link, label, tip and symbol."""
    parser = _Cells()
    parser.feed(page)
    return parser.cells


def stance_classes(page: str) -> dict[tuple[str, str], str]:
    """(actor, topic) → the stance class of every cell that has a stance."""
    return {
        pair: cell.stance_class
        for pair, cell in matrix_cells(page).items()
        if cell.stance_class != "s-none"
    }
