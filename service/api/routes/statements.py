"""Statements: record, list, read, and the later events of each (corrections, retraction, review).

Writes go through the command bus; the read models catch up before the answer is sent, so the
writer's next read sees its write. ``Idempotency-Key`` makes a retried POST safe: the key fixes
the event id (and the statement id), the same key with the same body answers as the first time,
and the same key with another body is a 409.
"""

import hashlib
import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, status

from service.api.consistency import MIN_POSITION_PROBLEMS, MinPositionDep
from service.api.deps import ReaderDep, RuntimeDep, WriterDep
from service.api.openapi import READ_PROBLEMS, WRITE_PROBLEMS, problem_responses
from service.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, keyset_page
from service.api.problems import BadRequest, Conflict, FieldError, NotFound
from service.api.statement_schemas import (
    ApprovalIn,
    CorrectionIn,
    ReasonIn,
    SourceIn,
    StatementIn,
    StatementOut,
    StatementPage,
    StatementWritten,
)
from service.api.times import parse_time
from service.auth.keys import Principal
from service.domain.commands import (
    ApproveStatement,
    Command,
    CorrectStatement,
    RecordStatement,
    RejectStatement,
    RetractStatement,
)
from service.domain.values import UNCHANGED, Source
from service.queries import StatementFilter, get_statement, list_statements
from service.runtime import Runtime

_IDEMPOTENCY = uuid.UUID("5b0f7a7e-3d53-4d7c-9f55-4c7e0c2f4a61")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Any unique string per intended write; a retry with the same key and body "
        "gets the first answer.",
    ),
]
StatementId = Annotated[uuid.UUID, Path(description="The statement's id.")]
Status = Annotated[
    str | None,
    Query(pattern="^(accepted|pending|rejected|retracted)$", description="Only this status."),
]

router = APIRouter(prefix="/v1/statements", tags=["statements"])
_WRITE = {**WRITE_PROBLEMS, **problem_responses(404, 409)}


def _metadata(principal: Principal, **extra: Any) -> dict[str, Any]:
    return {"recorded_by": f"key:{principal.name}", **extra}


def _source(source: SourceIn) -> Source:
    return Source(
        url=str(source.url),
        title=source.title,
        publisher=source.publisher,
        published_at=source.published_at,
    )


def _run(
    runtime: Runtime,
    command: Command,
    statement_id: uuid.UUID,
    principal: Principal,
    *,
    event_id: uuid.UUID | None = None,
    **metadata: Any,
) -> StatementWritten:
    result = runtime.services.bus.execute(
        command, event_id=event_id, metadata=_metadata(principal, **metadata)
    )
    return StatementWritten(
        statement_id=statement_id, position=result.position, duplicate=result.duplicate
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a statement",
    response_model=StatementWritten,
    responses=_WRITE,
)
def record(
    body: StatementIn,
    runtime: RuntimeDep,
    principal: WriterDep,
    idempotency_key: IdempotencyKey = None,
) -> StatementWritten:
    """Append a `StatementRecorded` event; 201 with the statement id and the log position."""
    fingerprint = hashlib.sha256(
        json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()
    event_id = statement_id = None
    if idempotency_key is not None:
        scope = f"{principal.name}:{idempotency_key}"
        event_id = uuid.uuid5(_IDEMPOTENCY, f"event:{scope}")
        statement_id = body.statement_id or uuid.uuid5(_IDEMPOTENCY, f"statement:{scope}")
        earlier = _earlier_answer(runtime, event_id, fingerprint)
        if earlier is not None:
            return earlier
    statement_id = statement_id or body.statement_id or uuid.uuid4()
    command = RecordStatement(
        statement_id=statement_id,
        actor_id=body.actor_id,
        topic_id=body.topic_id,
        stance=body.stance,
        quote=body.quote,
        stated_at=body.stated_at,
        kind=body.kind,
        source=_source(body.source),
        confidence=body.confidence,
        method=body.method,
    )
    extra = {"request_hash": fingerprint}
    if idempotency_key is not None:
        extra["idempotency_key"] = idempotency_key
    return _run(runtime, command, statement_id, principal, event_id=event_id, **extra)


def _earlier_answer(
    runtime: Runtime, event_id: uuid.UUID, fingerprint: str
) -> StatementWritten | None:
    with runtime.database.read() as session:
        found = runtime.event_store.read_by_ids(session, [event_id])
    if not found:
        return None
    if found[0].metadata.get("request_hash") != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used with another request body",
            errors=[
                FieldError(
                    location="header",
                    field="Idempotency-Key",
                    message="already used with another body",
                )
            ],
        )
    return StatementWritten(
        statement_id=uuid.UUID(found[0].data["statement_id"]),
        position=found[0].position,
        duplicate=True,
    )


@router.get(
    "",
    summary="List statements",
    response_model=StatementPage,
    responses={**READ_PROBLEMS, **MIN_POSITION_PROBLEMS},
)
def list_all(
    runtime: RuntimeDep,
    _reader: ReaderDep,
    _seen: MinPositionDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    topic: Annotated[str | None, Query(max_length=64)] = None,
    status: Status = None,
    stated_from: Annotated[str | None, Query(max_length=40)] = None,
    stated_until: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> StatementPage:
    """Statements as they stand now, in the order they were recorded. `status=pending` lists
    the ones waiting for review."""
    criteria = StatementFilter(
        actor_id=actor,
        topic_id=topic,
        status=status,
        stated_from=_day_start(stated_from),
        stated_until=parse_time(stated_until, field="stated_until"),
    )
    after = None
    if cursor is not None:
        after = decode_cursor(cursor, kind="statements").get("after")
        if not isinstance(after, int):
            raise BadRequest("The cursor does not hold a position")
    with runtime.database.read() as session:
        found = list_statements(session.connection(), criteria, after=after, limit=limit + 1)
    page, next_cursor = keyset_page(
        found, limit=limit, kind="statements", after=lambda s: s.recorded_position
    )
    return StatementPage(items=[StatementOut.of(s) for s in page], next_cursor=next_cursor)


def _day_start(value: str | None) -> datetime | None:
    """``stated_from`` as a date starts at midnight; ``parse_time`` gives the day's end."""
    parsed = parse_time(value, field="stated_from")
    if parsed is not None and value is not None and len(value.strip()) == 10:
        return parsed.replace(hour=0, minute=0, second=0, microsecond=0)
    return parsed


@router.get(
    "/{statement_id}",
    summary="One statement with every version",
    response_model=StatementOut,
    responses={**READ_PROBLEMS, **MIN_POSITION_PROBLEMS, **problem_responses(404)},
)
def get_one(
    statement_id: StatementId, runtime: RuntimeDep, _reader: ReaderDep, _seen: MinPositionDep
) -> StatementOut:
    """The statement as it stands, and each version with the time it was believed."""
    with runtime.database.read() as session:
        found = get_statement(session.connection(), statement_id)
    if found is None:
        raise NotFound(f"no statement {statement_id}")
    return StatementOut.of(found)


@router.post(
    "/{statement_id}/corrections",
    status_code=status.HTTP_201_CREATED,
    summary="Correct a statement",
    response_model=StatementWritten,
    responses=_WRITE,
)
def correct(
    statement_id: StatementId, body: CorrectionIn, runtime: RuntimeDep, principal: WriterDep
) -> StatementWritten:
    """Append a `StatementCorrected` event with the fields that change and the reason."""
    fields = body.model_dump(exclude_unset=True, exclude={"reason"})
    if not fields:
        raise BadRequest(
            "A correction must change at least one field",
            errors=[FieldError(location="body", field="body", message="no field to correct")],
        )
    command = CorrectStatement(
        statement_id=statement_id,
        reason=body.reason,
        stance=body.stance if "stance" in fields else UNCHANGED,
        stated_at=body.stated_at if "stated_at" in fields else UNCHANGED,
        actor_id=body.actor_id if "actor_id" in fields else UNCHANGED,
        topic_id=body.topic_id if "topic_id" in fields else UNCHANGED,
        quote=body.quote if "quote" in fields else UNCHANGED,
        source=_source(body.source) if body.source is not None else UNCHANGED,
        kind=body.kind if "kind" in fields else UNCHANGED,
    )
    return _run(runtime, command, statement_id, principal)


@router.post(
    "/{statement_id}/retraction",
    status_code=status.HTTP_201_CREATED,
    summary="Retract a statement",
    response_model=StatementWritten,
    responses=_WRITE,
)
def retract(
    statement_id: StatementId, body: ReasonIn, runtime: RuntimeDep, principal: WriterDep
) -> StatementWritten:
    """Append a `StatementRetracted` event: the statement stops counting, for good."""
    return _run(
        runtime, RetractStatement(statement_id, reason=body.reason), statement_id, principal
    )


@router.post(
    "/{statement_id}/approval",
    status_code=status.HTTP_201_CREATED,
    summary="Approve a statement waiting for review",
    response_model=StatementWritten,
    responses=_WRITE,
)
def approve(
    statement_id: StatementId, body: ApprovalIn, runtime: RuntimeDep, principal: WriterDep
) -> StatementWritten:
    return _run(runtime, ApproveStatement(statement_id, note=body.note), statement_id, principal)


@router.post(
    "/{statement_id}/rejection",
    status_code=status.HTTP_201_CREATED,
    summary="Reject a statement waiting for review",
    response_model=StatementWritten,
    responses=_WRITE,
)
def reject(
    statement_id: StatementId, body: ReasonIn, runtime: RuntimeDep, principal: WriterDep
) -> StatementWritten:
    return _run(runtime, RejectStatement(statement_id, reason=body.reason), statement_id, principal)
