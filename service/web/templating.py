"""Jinja2 rendering with escaping always on, and the headers every dashboard page carries.

Quotes, names and feed errors come from outside (feeds, API clients, subscribers' replies), so
autoescaping is on for every template and nothing is marked safe. The Content-Security-Policy
allows scripts, styles and connections from this origin only: no inline script or style, no
third-party host, so the pages work on a machine without internet and an injected tag could
not run even if escaping ever failed.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from service.web.country_names import country_name
from service.web.scale import (
    FLIP_SYMBOL,
    NO_STANCE_LABEL,
    NO_STANCE_SYMBOL,
    SCALE,
    kind_label,
    look,
    stance_label,
)

TEMPLATES_DIR: Final = Path(__file__).parent / "templates"

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


_MONTHS: Final = (
    *("Jan", "Feb", "Mar", "Apr", "May", "Jun"),
    *("Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
)


def day(value: datetime | date | None) -> str:
    """``16 May 2022``: valid times are days for people, in UTC like everything stored.

    Month names are spelled out here rather than by ``strftime``: they do not depend on the
    locale, and a matrix formats thousands of dates."""
    if value is None:
        return ""
    moment = value.astimezone(UTC) if isinstance(value, datetime) else value
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def instant(value: datetime | None) -> str:
    """``16 May 2022, 14:03:22 UTC``: transaction times, where the second matters."""
    if value is None:
        return ""
    moment = value.astimezone(UTC)
    return f"{day(moment)}, {moment:%H:%M:%S} UTC"


def iso(value: datetime | None) -> str:
    """Machine-readable time for ``<time datetime>`` and for URLs, microseconds kept."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def safe_href(url: Any) -> str | None:
    """``url`` when it is http(s), else None: an escaped ``javascript:`` URL still runs."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def shown_url(url: str) -> str:
    """A URL for display without what may be a credential: user info and query values go."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unreadable URL)"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{parts.path}{query}"


def query_string(params: Mapping[str, str | None]) -> str:
    """``?name=value&…`` of the non-empty ``params``; empty when there are none."""
    present = {name: value for name, value in params.items() if value}
    return f"?{urlencode(present)}" if present else ""


def page_url(path: str, **params: str | None) -> str:
    """``path`` with the given query parameters, empty ones left out, so URLs stay short."""
    return path + query_string(params)


def segment(value: str) -> str:
    """One path segment, percent-encoded."""
    return quote(value, safe="")


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        day=day,
        instant=instant,
        iso=iso,
        safe_href=safe_href,
        shown_url=shown_url,
        stance_label=stance_label,
        kind_label=kind_label,
        segment=segment,
    )
    environment.globals.update(
        page_url=page_url,
        country_name=country_name,
        look=look,
        SCALE=SCALE,
        FLIP_SYMBOL=FLIP_SYMBOL,
        NO_STANCE_SYMBOL=NO_STANCE_SYMBOL,
        NO_STANCE_LABEL=NO_STANCE_LABEL,
    )
    return environment


ENVIRONMENT: Final = _environment()


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` rendered with ``context``, with the security headers."""
    body = ENVIRONMENT.get_template(template).render(current_path=request.url.path, **context)
    return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
