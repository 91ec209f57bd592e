"""Who may call: ``Authorization: Bearer <api key>`` checked against the ``api_keys`` table.

Writes need a key that can write (401 without a valid key, 403 with a read-only one). Reads are
public unless ``STANCE_PUBLIC_READS=false``, then any valid key will do. A key that is sent but
invalid is refused even where none is needed: a client with a broken key should hear about it
before the day reads stop being public. The 401 carries the RFC 6750 challenge.
"""

from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.problems import Forbidden, Unauthorized
from service.auth.keys import ANONYMOUS, Principal
from service.runtime import Runtime

SCHEME_NAME = "ApiKey"
READ_SCHEME_NAME = "ApiKeyForReads"
"""Marks the reads in the generated OpenAPI; ``service.api.openapi`` rewrites it to ``ApiKey``,
optional where reads are public."""

_SCHEME_DESCRIPTION = (
    "An API key from `stance keys create NAME`, sent as `Authorization: Bearer stk_…`."
)
bearer_scheme = HTTPBearer(
    scheme_name=SCHEME_NAME,
    bearerFormat="stk_…",
    description=_SCHEME_DESCRIPTION,
    auto_error=False,
)
read_bearer_scheme = HTTPBearer(
    scheme_name=READ_SCHEME_NAME,
    bearerFormat="stk_…",
    description=_SCHEME_DESCRIPTION,
    auto_error=False,
)

_CHALLENGE = 'Bearer realm="stance"'


def _authenticated(
    runtime: Runtime, credentials: HTTPAuthorizationCredentials | None
) -> Principal | None:
    if credentials is None:
        return None
    principal = runtime.api_keys.authenticate(credentials.credentials)
    if principal is None:
        raise Unauthorized(
            "The API key is unknown or revoked",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    return principal


def authenticate_reader(
    runtime: Runtime, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """The caller of a read: its key's principal, or ``ANONYMOUS`` where reads are public."""
    principal = _authenticated(runtime, credentials)
    if principal is not None:
        return principal
    if runtime.settings.public_reads:
        return ANONYMOUS
    raise Unauthorized(
        "Reads need an API key: send Authorization: Bearer <key>",
        headers={"WWW-Authenticate": _CHALLENGE},
    )


def authenticate_writer(
    runtime: Runtime, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """The caller of a write, whose key must be allowed to write."""
    principal = _authenticated(runtime, credentials)
    if principal is None:
        raise Unauthorized(
            "Writes need an API key: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    if not principal.can_write:
        raise Forbidden(
            f"The API key {principal.name!r} is read-only",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="insufficient_scope"'},
        )
    return principal
