"""Dependency aliases so routes stay one line: ``def route(runtime: RuntimeDep, by: WriterDep)``."""

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from service.api.auth import (
    authenticate_reader,
    authenticate_writer,
    bearer_scheme,
    read_bearer_scheme,
)
from service.auth.keys import Principal
from service.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
ReadCredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Security(read_bearer_scheme)]


def require_reader(runtime: RuntimeDep, credentials: ReadCredentialsDep) -> Principal:
    return authenticate_reader(runtime, credentials)


def require_writer(runtime: RuntimeDep, credentials: CredentialsDep) -> Principal:
    return authenticate_writer(runtime, credentials)


ReaderDep = Annotated[Principal, Depends(require_reader)]
"""The caller of a read (``ANONYMOUS`` when reads are public and no key was sent)."""

WriterDep = Annotated[Principal, Depends(require_writer)]
"""The caller of a write; put ``principal.recorded_by`` into the events' metadata."""
