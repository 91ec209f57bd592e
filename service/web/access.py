"""Who may see a page: the API's own rule, with a key a browser can present.

The pages apply the same checks as the API (``authenticate_reader``, ``authenticate_writer``):
public reads are open unless ``STANCE_PUBLIC_READS=false``, and the webhook pages need a key
that can write, as ``GET /v1/webhooks`` and the delivery logs do. A browser cannot add a bearer
header to a link, so the pages also take the key as the password of HTTP Basic authentication
(any user name): without one, a page answers 401 with a Basic challenge, and the browser asks for
it. The key then travels in the ``Authorization`` header as it would to the API, never in a URL
or a cookie, and nothing is kept on the server. A read-only key gets 403.
"""

import base64
import binascii
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from service.api.auth import authenticate_reader, authenticate_writer
from service.api.problems import ProblemError
from service.auth.keys import Principal
from service.runtime import Runtime
from service.web.errors import PageError

REALM: Final = "Stance Tracker"
_CHALLENGE: Final = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
_MAX_HEADER: Final = 1024


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def presented_key(request: Request) -> HTTPAuthorizationCredentials | None:
    """The API key in ``Authorization``: a bearer token, or the password of Basic credentials."""
    header = request.headers.get("authorization", "")
    if not header or len(header) > _MAX_HEADER:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return HTTPAuthorizationCredentials(scheme="Bearer", credentials=value)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return HTTPAuthorizationCredentials(scheme="Bearer", credentials="")
        _user, _, password = decoded.partition(":")
        return HTTPAuthorizationCredentials(scheme="Bearer", credentials=password)
    return None


def _as_page_error(error: ProblemError, *, writing: bool) -> PageError:
    need = "an API key that can write" if writing else "an API key"
    if error.status == 403:
        return PageError(403, "This key may not see this page", f"{error.detail}: it needs {need}.")
    return PageError(
        401,
        "An API key is needed",
        f"{error.detail}. This page needs {need}: give it as the password when the browser "
        "asks (any user name), or send Authorization: Bearer <key>.",
        headers=_CHALLENGE,
    )


def page_reader(request: Request) -> Principal:
    try:
        return authenticate_reader(runtime_of(request), presented_key(request))
    except ProblemError as error:
        raise _as_page_error(error, writing=False) from None


def page_writer(request: Request) -> Principal:
    try:
        return authenticate_writer(runtime_of(request), presented_key(request))
    except ProblemError as error:
        raise _as_page_error(error, writing=True) from None


PageReader = Annotated[Principal, Depends(page_reader)]
PageWriter = Annotated[Principal, Depends(page_writer)]
