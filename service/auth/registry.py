"""Creating, listing, revoking and finding API keys in the ``api_keys`` table.

Functions take the caller's session and only flush; ``Database.write()`` commits.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from service.auth.keys import check_key_name, display_prefix, generate_key, hash_key
from service.store.auth_tables import ApiKeyRow


class KeyNameTaken(ValueError):
    """Names are never reused, not even after revocation, so ``key:<name>`` stays unambiguous."""


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown about a key: everything but the key and its hash."""

    name: str
    prefix: str
    can_write: bool
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: ``key`` is the secret, available only now."""

    key: str
    info: ApiKeyInfo


def create_key(
    session: Session, *, name: str, can_write: bool, now: datetime | None = None
) -> CreatedKey:
    """Store the hash of a new random key under ``name`` and return the key itself."""
    check_key_name(name)
    if session.exec(select(ApiKeyRow.id).where(ApiKeyRow.name == name)).first() is not None:
        raise KeyNameTaken(f"a key named {name!r} exists (names are not reused after revocation)")
    key = generate_key()
    row = ApiKeyRow(
        name=name,
        key_hash=hash_key(key),
        prefix=display_prefix(key),
        can_write=can_write,
        created_at=now or datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return CreatedKey(key=key, info=_info(row))


def list_keys(session: Session) -> list[ApiKeyInfo]:
    """Every key, revoked ones included, oldest first."""
    rows: Sequence[ApiKeyRow] = session.exec(select(ApiKeyRow).order_by(ApiKeyRow.id)).all()
    return [_info(row) for row in rows]


def revoke_key(session: Session, *, name: str, now: datetime | None = None) -> bool:
    """Revoke the key named ``name``; False when there is no such key. Revoking twice is a no-op."""
    row = session.exec(select(ApiKeyRow).where(ApiKeyRow.name == name)).first()
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = now or datetime.now(UTC)
        session.add(row)
        session.flush()
    return True


def find_active_by_hash(session: Session, key_hash: str) -> ApiKeyRow | None:
    """The unrevoked key whose hash is ``key_hash``, if any."""
    statement = select(ApiKeyRow).where(
        ApiKeyRow.key_hash == key_hash,
        ApiKeyRow.revoked_at.is_(None),  # type: ignore[union-attr]
    )
    return session.exec(statement).first()


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        name=row.name,
        prefix=row.prefix,
        can_write=row.can_write,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
