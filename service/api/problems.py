"""Problem details (RFC 9457): the one shape every error response of the API takes.

Clients match on ``type``, a URN ending in a stable slug (``urn:stance:problem:invalid-cursor``):
an identifier, not a page to fetch, so it never breaks when docs move. ``errors`` names each
offending input (where it was, which field, what is wrong) so a client can point at a form field.

Routes raise a ``ProblemError`` (or a subclass) for failures the HTTP layer itself decides;
domain and store errors are translated by ``service.api.errors``.
"""

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:stance:problem:"

Location = Literal["body", "query", "path", "header", "cookie"]


class FieldError(BaseModel):
    """One offending input."""

    location: Location = Field(description="Where the input was.")
    field: str = Field(description="Dotted path of the field, e.g. `source.url` or `aliases[0]`.")
    message: str = Field(description="What is wrong with it, for people.")


class Problem(BaseModel):
    """An error response (RFC 9457 problem details)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:stance:problem:validation-error",
                    "title": "Request validation failed",
                    "status": 422,
                    "detail": "1 input is invalid",
                    "instance": "/v1/events",
                    "errors": [
                        {
                            "location": "query",
                            "field": "limit",
                            "message": "Input should be less than or equal to 1000",
                        }
                    ],
                }
            ]
        }
    )

    type: str = Field(description="URN identifying the kind of problem; match on this.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong in this occurrence, for people.")
    instance: str = Field(description="The request path this occurrence happened on.")
    errors: list[FieldError] | None = Field(
        default=None, description="The offending inputs, when particular inputs are to blame."
    )


def slug_for_status(status: int) -> str:
    """The default problem slug of a bare HTTP status: ``404`` → ``not-found``."""
    if status == 413:
        return "content-too-large"  # RFC 9110's name; older Pythons still say "entity"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return f"http-{status}"
    return "-".join(phrase.lower().replace("'", "").split())


def title_for_status(status: int) -> str:
    if status == 413:
        return "Content too large"
    try:
        return HTTPStatus(status).phrase.capitalize()
    except ValueError:
        return f"HTTP {status}"


class ProblemError(Exception):
    """An error that becomes a problem response; subclasses set the class defaults.

    ``raise NotFound(f"no actor {actor_id!r}", errors=[...])`` from a route gives a 404 problem.
    """

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    slug: ClassVar[str] = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
        title: str | None = None,
        slug: str | None = None,
    ) -> None:
        super().__init__(detail or title or self.title)
        if status is not None:
            self.status = status  # type: ignore[misc]
        if title is not None:
            self.title = title  # type: ignore[misc]
        if slug is not None:
            self.slug = slug  # type: ignore[misc]
        self.detail = detail or self.title
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def to_problem(self, instance: str) -> Problem:
        return make_problem(
            status=self.status,
            slug=self.slug,
            title=self.title,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        )


class BadRequest(ProblemError):
    status = 400
    title = "Bad request"
    slug = "bad-request"


class Unauthorized(ProblemError):
    """No usable credentials; carries the ``WWW-Authenticate`` challenge RFC 9110 requires."""

    status = 401
    title = "Authentication required"
    slug = "unauthorized"


class Forbidden(ProblemError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(ProblemError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(ProblemError):
    status = 409
    title = "Conflict"
    slug = "conflict"


def make_problem(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    errors: Sequence[FieldError] = (),
) -> Problem:
    return Problem(
        type=TYPE_PREFIX + slug,
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=list(errors) or None,
    )


class ProblemResponse(JSONResponse):
    """``application/problem+json``; members that are ``None`` are left out."""

    media_type = PROBLEM_MEDIA_TYPE

    def __init__(self, problem: Problem, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(
            problem.model_dump(mode="json", exclude_none=True),
            status_code=problem.status,
            headers=headers,
        )
