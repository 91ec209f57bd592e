"""Every failure becomes a problem response: validation, HTTP, domain, store and the unexpected.

``ERROR_STATUS`` is the table from the domain's and the store's errors to HTTP statuses; a
subclass not listed inherits its nearest listed base (``DomainError`` itself is 422: the request
breaks a rule). ``register_error`` adds entries for errors defined later.

References to things that do not exist (``UnknownActor`` …) depend on where the reference was:
the thing a request is about (a read, or a path parameter named like the error's field, e.g.
``/v1/statements/{statement_id}/approval``) is 404; a reference inside a write's body (an unknown
``actor_id`` in a new statement) is 422, since the resource addressed exists and the body is wrong.
"""

import logging
import uuid
from typing import Any

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import (
    FieldError,
    Location,
    ProblemError,
    ProblemResponse,
    make_problem,
    slug_for_status,
    title_for_status,
)
from service.domain import errors as domain
from service.store.event_store import ConcurrencyError, EventIdConflict

log = logging.getLogger(__name__)

ERROR_STATUS: dict[type[Exception], tuple[int, str]] = {
    domain.DomainError: (422, "domain-error"),
    domain.ActorAlreadyRegistered: (409, domain.ActorAlreadyRegistered.code),
    domain.TopicAlreadyDefined: (409, domain.TopicAlreadyDefined.code),
    domain.StatementAlreadyRecorded: (409, domain.StatementAlreadyRecorded.code),
    domain.StatementIsRetracted: (409, domain.StatementIsRetracted.code),
    domain.NotAwaitingReview: (409, domain.NotAwaitingReview.code),
    ConcurrencyError: (409, "concurrency-conflict"),
    EventIdConflict: (409, "event-id-conflict"),
}
"""Exception class → (status, slug). Domain errors use their own ``code`` as slug regardless."""

REFERENCE_ERRORS: tuple[type[domain.DomainError], ...] = (
    domain.UnknownActor,
    domain.UnknownTopic,
    domain.UnknownStatement,
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOCATIONS: frozenset[str] = frozenset({"body", "query", "path", "header", "cookie"})


def register_error(error_class: type[Exception], status: int, slug: str) -> None:
    """Map ``error_class`` (and its subclasses) to a problem; call before ``create_app``."""
    ERROR_STATUS[error_class] = (status, slug)


def _lookup(error: Exception) -> tuple[int, str] | None:
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return None


def _domain_status(error: domain.DomainError, request: Request) -> int:
    if isinstance(error, REFERENCE_ERRORS):
        about_resource = request.method in _SAFE_METHODS or error.field in request.path_params
        return 404 if about_resource else 422
    mapped = _lookup(error)
    return mapped[0] if mapped else 422


def _title_from_slug(slug: str) -> str:
    return slug.replace("-", " ").capitalize()


async def _domain_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, domain.DomainError)
    status = _domain_status(error, request)
    errors: list[FieldError] = []
    if error.field:
        location: Location = "path" if error.field in request.path_params else "body"
        errors.append(FieldError(location=location, field=error.field, message=error.message))
    return ProblemResponse(
        make_problem(
            status=status,
            slug=error.code,
            title=_title_from_slug(error.code),
            detail=error.message,
            instance=request.url.path,
            errors=errors,
        )
    )


async def _mapped_error(request: Request, error: Exception) -> ProblemResponse:
    status, slug = _lookup(error) or (500, "internal-error")
    return ProblemResponse(
        make_problem(
            status=status,
            slug=slug,
            title=_title_from_slug(slug),
            detail=str(error),
            instance=request.url.path,
        )
    )


async def _problem_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, ProblemError)
    return ProblemResponse(error.to_problem(request.url.path), headers=error.headers)


async def _http_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, HTTPException)
    status = error.status_code
    title = title_for_status(status)
    detail = error.detail if isinstance(error.detail, str) else title
    if status == 404 and detail.lower() == "not found":
        detail = f"Nothing is found at {request.url.path}"
    elif status == 405 and detail.lower() == "method not allowed":
        detail = f"{request.method} is not allowed on {request.url.path}"
    problem = make_problem(
        status=status,
        slug=slug_for_status(status),
        title=title,
        detail=detail,
        instance=request.url.path,
    )
    return ProblemResponse(problem, headers=error.headers)


def field_errors(raw_errors: list[Any]) -> list[FieldError]:
    """Pydantic's errors as ``FieldError`` items: ``("body", "source", "url")`` → ``source.url``."""
    result = []
    for item in raw_errors:
        loc = list(item.get("loc", ()))
        location = str(loc[0]) if loc and loc[0] in _LOCATIONS else "body"
        rest = loc[1:] if loc and loc[0] in _LOCATIONS else loc
        if item.get("type") == "json_invalid":
            rest = []  # the location is a character offset, not a field
        message = str(item.get("msg", "invalid"))
        if item.get("type") == "json_invalid" and item.get("ctx", {}).get("error"):
            message = f"{message}: {item['ctx']['error']}"
        result.append(
            FieldError(location=location, field=_dotted(rest) or location, message=message)  # type: ignore[arg-type]
        )
    return result


def _dotted(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


async def _validation_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, RequestValidationError)
    raw = list(error.errors())
    errors = field_errors(raw)
    if any(item.get("type") == "json_invalid" for item in raw):
        problem = make_problem(
            status=400,
            slug="malformed-json",
            title="Malformed JSON body",
            detail="The request body is not valid JSON",
            instance=request.url.path,
            errors=errors,
        )
    else:
        count = len(errors)
        problem = make_problem(
            status=422,
            slug="validation-error",
            title="Request validation failed",
            detail=f"{count} input{'s are' if count != 1 else ' is'} invalid",
            instance=request.url.path,
            errors=errors,
        )
    return ProblemResponse(problem)


async def _unstorable_value(request: Request, error: Exception) -> ProblemResponse:
    """A value passed validation but the database refuses it (SQLSTATE class 22: a NUL character
    PostgreSQL cannot store, a number out of range). It came from the request, so it is the
    client's to fix: a 422 that names no internals, logged for whoever should tighten validation.
    """
    log.warning("database refused a value on %s %s: %s", request.method, request.url.path, error)
    problem = make_problem(
        status=422,
        slug="unstorable-value",
        title="Unstorable value",
        detail="A value in the request cannot be stored (for example a NUL character, or a "
        "number out of range)",
        instance=request.url.path,
    )
    return ProblemResponse(problem)


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem handlers; the catch-all is ``UnhandledErrorMiddleware``."""
    app.add_exception_handler(sqlalchemy.exc.DataError, _unstorable_value)
    app.add_exception_handler(psycopg.DataError, _unstorable_value)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(domain.DomainError, _domain_error)
    for error_class in ERROR_STATUS:
        if not issubclass(error_class, domain.DomainError):
            app.add_exception_handler(error_class, _mapped_error)


class UnhandledErrorMiddleware:
    """Answers an unexpected exception with a 500 problem that leaks nothing but a reference.

    The traceback is logged once, under the same reference, so a report from a client can be
    found in the logs. Pure ASGI, so it does not buffer streaming responses.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            reference = uuid.uuid4().hex[:12]
            log.exception("unhandled error %s on %s %s", reference, scope["method"], scope["path"])
            if started:
                raise
            problem = make_problem(
                status=500,
                slug="internal-error",
                title="Internal server error",
                detail=f"An unexpected error occurred; it was logged under reference {reference}",
                instance=scope["path"],
            )
            await ProblemResponse(problem)(scope, receive, send)
