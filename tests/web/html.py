"""Just enough HTML reading for the page tests: the matrix's cells and elements by id."""

from html.parser import HTMLParser
from typing import NamedTuple


class Cell(NamedTuple):
    classes: frozenset[str]
    href: str
    text: str

    @property
    def stance_class(self) -> str:
        return next(c for c in self.classes if c.startswith("s-"))


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], Cell] = {}
        self._current: tuple[str, str] | None = None
        self._classes: frozenset[str] = frozenset()
        self._href = ""
        self._text: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "td" and "cell" in values.get("class", "").split():
            self._current = (values["data-actor"], values["data-topic"])
            self._classes = frozenset(values["class"].split())
            self._href, self._text, self._depth = "", [], 0
        elif self._current is not None:
            self._depth += 1
            if tag == "a" and not self._href:
                self._href = values.get("href", "")

    def handle_endtag(self, tag: str) -> None:
        if self._current is None:
            return
        if tag == "td" and self._depth == 0:
            text = " ".join(" ".join(self._text).split())
            self.cells[self._current] = Cell(self._classes, self._href, text)
            self._current = None
        else:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)


def matrix_cells(page: str) -> dict[tuple[str, str], Cell]:
    """(actor, topic) → the cell's classes, link and text (symbol, label and tip)."""
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
