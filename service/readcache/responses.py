"""Serialized answers kept in memory, each valid for the one read-model version it was built at.

An entry is found only by its query key *and* the version the caller serves now, so an answer
stops being served the moment the read models move, without any explicit invalidation. The
cache holds at most one entry per query (a newer version replaces the older) and is bounded both
by entries and by bytes, least recently used first out; an answer too big for a quarter of the
byte budget is served but not kept, so one huge matrix cannot flush everything else.
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

from service.readcache.version import ReadModelVersion

_ENTRY_OVERHEAD_BYTES = 256
"""What an entry costs besides its body (key, tuple, dict slot), so tiny bodies still count."""


@dataclass(frozen=True)
class CachedAnswer:
    """One answer, ready to send: status, media type and the exact body bytes."""

    version: ReadModelVersion
    status: int
    media_type: str
    body: bytes
    etag: str | None = None
    """A strong entity tag (quoted) for 200 answers: the same version and query, the same bytes."""
    key_bytes: int = 0
    """What the entry's key takes (a query can name 500 actors), counted against the budget."""
    size: int = field(init=False)

    def __post_init__(self) -> None:
        size = len(self.body) + self.key_bytes + _ENTRY_OVERHEAD_BYTES
        object.__setattr__(self, "size", size)


def entity_tag(version: ReadModelVersion, key: Hashable) -> str:
    """A quoted ETag for ``key`` at ``version``, equal in every process on the same database."""
    return _tag(version, repr(key))


def _tag(version: ReadModelVersion, key_text: str) -> str:
    digest = hashlib.blake2b(f"{version.tag}|{key_text}".encode(), digest_size=12).hexdigest()
    return f'"{digest}"'


class ResponseCache:
    """A bounded LRU of ``CachedAnswer`` by query key; safe to share between threads."""

    def __init__(self, *, max_bytes: int, max_entries: int) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, CachedAnswer] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 and self.max_entries > 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, version: ReadModelVersion) -> CachedAnswer | None:
        """The answer to ``key`` built at exactly ``version``, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: Hashable, answer: CachedAnswer) -> None:
        """Keep ``answer`` for ``key``, replacing what was there, then evict to the bounds."""
        if not self.enabled or answer.size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = answer
            self._bytes += answer.size
            while self._entries and (
                self._bytes > self.max_bytes or len(self._entries) > self.max_entries
            ):
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


class AliasBook:
    """Other names for cached keys, e.g. the raw request line a route parsed into a key.

    The HTTP layer answers a repeated request from the cache before any routing or parameter
    parsing by looking its raw form up here; only a route that parsed and validated that raw
    form writes it down, so an alias always leads to the key the route itself would compute.
    Bounded (least recently used out), like the cache it points into; safe between threads.
    """

    def __init__(self, *, max_entries: int) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._keys: OrderedDict[Hashable, tuple[Hashable, object]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def remember(self, alias: Hashable, key: Hashable, note: object = None) -> None:
        """``alias`` stands for ``key``; ``note`` travels with it (the route that parsed it)."""
        if self.max_entries <= 0:
            return
        with self._lock:
            self._keys[alias] = (key, note)
            self._keys.move_to_end(alias)
            while len(self._keys) > self.max_entries:
                self._keys.popitem(last=False)

    def lookup(self, alias: Hashable) -> tuple[Hashable, object] | None:
        """The key and note ``alias`` stands for, or None."""
        with self._lock:
            found = self._keys.get(alias)
            if found is not None:
                self._keys.move_to_end(alias)
            return found
