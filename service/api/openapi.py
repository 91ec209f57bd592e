"""The OpenAPI document: problem+json error responses and optional auth on public reads.

FastAPI documents validation errors as its own ``HTTPValidationError`` JSON; this API answers them
as problems, so the document is rewritten to say so. Reads carry a marker security scheme
(``ApiKeyForReads``) that becomes ``ApiKey``: required where reads are private, and optional
(``[{}, {"ApiKey": []}]``, OpenAPI's way to say so) where they are public.

The problems an operation can answer because of its shape are added where a route left them out:
400 for a ``cursor`` or a JSON body (malformed), 401 for any key it accepts, 403 for a write,
413 for a body, 422 for any input. Routes document only what their own logic adds (404, 409).
"""

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.api.auth import READ_SCHEME_NAME, SCHEME_NAME
from service.api.problems import PROBLEM_MEDIA_TYPE, Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting ``statuses`` as problem+json, for a route decorator."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
        }
        for status in statuses
    }


READ_PROBLEMS = problem_responses(401, 422)
"""Errors any read may answer: a bad key (or none where reads are private), invalid parameters."""

WRITE_PROBLEMS = problem_responses(401, 403, 413, 422)
"""Errors any write may answer: no or bad key, read-only key, body too large, invalid body."""


def install_openapi(app: FastAPI, *, public_reads: bool) -> None:
    """Make ``app.openapi()`` build (once) and serve the rewritten document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                webhooks=app.webhooks.routes,
                tags=app.openapi_tags,
            )
            _webhook_answers(document)
            _add_problem_schemas(document)
            _problems_for_validation(document)
            _auth_on_reads(document, public_reads=public_reads)
            _implied_problems(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                yield operation


def _webhook_answers(document: dict[str, Any]) -> None:
    """What a subscriber answers: any 2xx acknowledges; FastAPI's 422 says nothing about them."""
    for path_item in document.get("webhooks", {}).values():
        for operation in path_item.values():
            operation["responses"] = {
                "2XX": {"description": "Acknowledged; anything else is retried later."}
            }


def _add_problem_schemas(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem


def _problems_for_validation(document: dict[str, Any]) -> None:
    for operation in _operations(document):
        for status, response in operation["responses"].items():
            if status in ("400", "422"):
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
    schemas = document["components"]["schemas"]
    text = repr(document["paths"])
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)


def _auth_on_reads(document: dict[str, Any], *, public_reads: bool) -> None:
    schemes = document.get("components", {}).get("securitySchemes", {})
    marker = schemes.pop(READ_SCHEME_NAME, None)
    if marker is None:
        return
    schemes.setdefault(SCHEME_NAME, marker)
    for operation in _operations(document):
        requirements = operation.get("security", [])
        if not any(READ_SCHEME_NAME in requirement for requirement in requirements):
            continue
        rest = [r for r in requirements if READ_SCHEME_NAME not in r and SCHEME_NAME not in r]
        optional: list[dict[str, list[str]]] = [{}] if public_reads else []
        operation["security"] = [*optional, {SCHEME_NAME: []}, *rest]


_WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def _implied_problems(document: dict[str, Any]) -> None:
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses: set[int] = set()
            parameters = operation.get("parameters", [])
            if operation.get("requestBody"):
                statuses |= {400, 413, 422}
            if parameters:
                statuses.add(422)
            if any(p.get("name") == "cursor" and p.get("in") == "query" for p in parameters):
                statuses.add(400)
            security = operation.get("security", [])
            if any(SCHEME_NAME in requirement for requirement in security):
                statuses.add(401)
                if method in _WRITE_METHODS:
                    statuses.add(403)
            responses = operation["responses"]
            for status, response in problem_responses(*sorted(statuses)).items():
                responses.setdefault(str(status), response)
