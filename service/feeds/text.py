"""HTML fragments of feed items as plain text, for extraction and for quoting.

Feed content is HTML of any quality. The standard library's tolerant parser is enough: drop
script/style, keep text, end a line at block elements so sentences in separate paragraphs never
run together, decode entities, collapse whitespace.
"""

import re
from html.parser import HTMLParser

_BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "tr", "td", "th", "section", "article", "header", "footer", "figure", "figcaption", "pre",
    "table", "hr", "dd", "dt",
}  # fmt: skip
_SKIPPED = {"script", "style", "template", "noscript", "svg", "head", "title"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_LINES = re.compile(r"\s*\n\s*")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Readable text of an HTML fragment; paragraphs become lines, whitespace is collapsed."""
    if not html:
        return ""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    text = _SPACES.sub(" ", "".join(collector.parts))
    return _LINES.sub("\n", text).strip()
