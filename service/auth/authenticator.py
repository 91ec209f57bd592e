"""Checking a presented API key, with a small cache in front of the database.

Every authenticated request would otherwise cost a query. Answers, found or not, are kept for
``ttl_seconds`` (``STANCE_API_KEY_CACHE_SECONDS``, 5 s by default) in a bounded LRU keyed by the
key's hash, so a revocation (which may come from another process, e.g. ``stance keys revoke``)
takes effect everywhere within that time; a TTL of 0 turns the cache off. Caching misses too keeps
a client hammering with a bad key from costing a query per request.
"""

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from service.auth.keys import Principal, hash_key, looks_like_key
from service.auth.registry import find_active_by_hash
from service.db import Database

_MAX_ENTRIES = 1024


class ApiKeyAuthenticator:
    """Maps a presented key to its ``Principal``, or ``None``; safe to share between threads."""

    def __init__(
        self,
        database: Database,
        *,
        ttl_seconds: float = 5.0,
        max_entries: int = _MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()

    def authenticate(self, key: str) -> Principal | None:
        """The principal of an active key; ``None`` for unknown, revoked or malformed keys."""
        if not looks_like_key(key):
            return None
        key_hash = hash_key(key)
        cached = self._cached(key_hash)
        if cached is not None:
            return cached[1]
        principal = self._lookup(key_hash)
        self._remember(key_hash, principal)
        return principal

    def forget(self) -> None:
        """Drop every cached answer (after revoking a key in this process, for instance)."""
        with self._lock:
            self._cache.clear()

    def _lookup(self, key_hash: str) -> Principal | None:
        with self._database.read() as session:
            row = find_active_by_hash(session, key_hash)
            # The index lookup already matched; comparing in constant time as well means no code
            # path here ever branches on a partial match of secret-derived bytes.
            if row is None or not hmac.compare_digest(row.key_hash, key_hash):
                return None
            return Principal(name=row.name, can_write=row.can_write)

    def _cached(self, key_hash: str) -> tuple[float, Principal | None] | None:
        if self._ttl <= 0:
            return None
        with self._lock:
            entry = self._cache.get(key_hash)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._cache[key_hash]
                return None
            self._cache.move_to_end(key_hash)
            return entry

    def _remember(self, key_hash: str, principal: Principal | None) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._cache[key_hash] = (self._clock() + self._ttl, principal)
            self._cache.move_to_end(key_hash)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
