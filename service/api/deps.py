"""Dependency aliases so routes stay one line: ``def route(runtime: RuntimeDep, by: WriterDep)``.

``get_runtime`` and ``require_reader`` are ``async``: FastAPI runs a plain ``def`` dependency in
a worker thread, and on a cached read those two hand-offs cost more than the answer itself.
"""

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from service.api.auth import (
    authenticate_reader,
    authenticate_writer,
    bearer_scheme,
    read_bearer_scheme,
)
from service.auth.keys import ANONYMOUS, Principal
from service.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
ReadCredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Security(read_bearer_scheme)]


async def require_reader(runtime: RuntimeDep, credentials: ReadCredentialsDep) -> Principal:
    if credentials is None and runtime.settings.public_reads:
        return ANONYMOUS  # the common case, decided without a thread
    # A key may have to be looked up in the database.
    return await run_in_threadpool(authenticate_reader, runtime, credentials)


def require_writer(runtime: RuntimeDep, credentials: CredentialsDep) -> Principal:
    return authenticate_writer(runtime, credentials)


ReaderDep = Annotated[Principal, Depends(require_reader)]
"""The caller of a read (``ANONYMOUS`` when reads are public and no key was sent)."""

WriterDep = Annotated[Principal, Depends(require_writer)]
"""The caller of a write; put ``principal.recorded_by`` into the events' metadata."""
