"""Liveness and readiness, for load balancers and orchestrators.

Liveness says the process answers; readiness says it can serve: the database is reachable and its
schema is the one this code was written for (a replica started before a migration stays out of
rotation instead of failing requests).
"""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from service.api.deps import RuntimeDep
from service.store import migrate

router = APIRouter(tags=["health"])

_READY_EXAMPLE = {"status": "ok", "database": "ok", "schema": "0002"}
_UNAVAILABLE_EXAMPLE = {
    "status": "unavailable",
    "database": "unreachable",
    "detail": "OperationalError",
}


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database reachable and schema at head",
    responses={
        200: {"content": {"application/json": {"example": _READY_EXAMPLE}}},
        503: {
            "description": "Not ready: the database is unreachable or its schema is not current",
            "content": {"application/json": {"example": _UNAVAILABLE_EXAMPLE}},
        },
    },
)
def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        current = migrate.current_revision(runtime.database.engine)
    except SQLAlchemyError as error:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "detail": type(error).__name__},
            status_code=503,
        )
    head = migrate.head_revision()
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "database": "ok", "schema": current, "expected": head},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "schema": current})
