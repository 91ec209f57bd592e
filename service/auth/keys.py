"""API key format and hashing.

A key is ``stk_`` followed by 32 random bytes in URL-safe base64: 256 bits from ``secrets``. The
database keeps only ``sha256(key)``. A slow password hash (bcrypt, argon2) exists to make guessing
low-entropy secrets expensive; a 256-bit random key cannot be guessed from its hash at any speed,
so a fast hash gives the same protection if the table leaks, costs nothing per request, and is
deterministic, so the hash itself is the lookup key (one indexed equality, no scan).
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Final

KEY_PREFIX: Final = "stk_"
DISPLAY_PREFIX_LENGTH: Final = len(KEY_PREFIX) + 8
"""Characters kept in clear for display (``stk_AbCd1234``): enough to recognise a key, 48 bits."""

_KEY_RANDOM_BYTES: Final = 32
_MAX_KEY_LENGTH: Final = 128
_NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
RESERVED_NAMES: Final = frozenset({"anonymous"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name and whether it may write.

    Writers put ``recorded_by`` into each event's metadata, so the log says which key wrote what.
    """

    name: str
    can_write: bool

    @property
    def recorded_by(self) -> str:
        return f"key:{self.name}"


ANONYMOUS: Final = Principal(name="anonymous", can_write=False)
"""The caller of a public read that sent no key."""


class InvalidKeyName(ValueError):
    """Key names are short slugs, so they read well in logs and in ``recorded_by``."""


def check_key_name(name: str) -> str:
    """``name`` if it is a valid, unreserved key name; raises ``InvalidKeyName`` otherwise."""
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidKeyName(
            "a key name is 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a "
            "letter or digit"
        )
    if name in RESERVED_NAMES:
        raise InvalidKeyName(f"{name!r} is reserved")
    return name


def generate_key() -> str:
    """A new random API key; shown to its owner once and never stored."""
    return KEY_PREFIX + secrets.token_urlsafe(_KEY_RANDOM_BYTES)


def hash_key(key: str) -> str:
    """The SHA-256 of ``key`` in hex: what the database stores and looks keys up by."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    """The start of ``key`` that listings show, so people can tell their keys apart."""
    return key[:DISPLAY_PREFIX_LENGTH]


def looks_like_key(candidate: str) -> bool:
    """A cheap shape check that spares the database lookups for obvious garbage."""
    return candidate.startswith(KEY_PREFIX) and len(candidate) <= _MAX_KEY_LENGTH
