"""Errors of the dashboard as HTML pages, not problem+json: a person reads them.

Routes raise ``PageError``; the handler renders ``error.html`` with the status, a title that
says what went wrong and a detail that says what to do about it.
"""

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from service.web.templating import render


class PageError(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})


def not_found(detail: str) -> PageError:
    return PageError(404, "Not found", detail)


async def render_page_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageError)
    return render(
        request,
        "error.html",
        status=error.status,
        headers=error.headers,
        title=error.title,
        detail=error.detail,
        status_code=error.status,
    )
