"""Time-ordered identifiers (UUID version 7, RFC 9562) for the ids writers make up themselves.

Why not ``uuid4``: event ids sit in a unique index of the log. Random ids land on random pages of
that index, so a batch of 100 events dirties up to 100 index pages that every later append dirties
again; on SQLite that halved the rate of batched appends, and on PostgreSQL each of those pages is
written to the WAL in full after every checkpoint. Version 7 ids start with the Unix time in
milliseconds, so consecutive ids land on the same, rightmost index page.

Layout (RFC 9562, section 5.7, with the counter of section 6.2, method 1, as Python 3.14's
``uuid.uuid7`` does): 48 bits of milliseconds, the version, a 42-bit counter split around the
variant bits, then 32 random bits. The counter starts at a random value each millisecond and counts
up within it, so the ids one process makes are strictly increasing, from any thread, even when the
wall clock steps back (the last millisecond is kept until the clock passes it). The random start
and the random tail keep ids of different processes apart; the random bits come from
``os.urandom``, read for many ids at a time, and a forked child reads its own.
"""

import os
import threading
import time
import uuid

_COUNTER_BITS = 42
_COUNTER_MAX = (1 << _COUNTER_BITS) - 1
_COUNTER_LOW_BITS = 30
_COUNTER_LOW_MASK = (1 << _COUNTER_LOW_BITS) - 1
_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62

_RANDOM_BYTES = 10  # 41 bits to seed the counter, 32 for the tail
_COUNTER_SEED_SHIFT = _RANDOM_BYTES * 8 - (_COUNTER_BITS - 1)
_IDS_PER_RANDOM_READ = 128  # os.urandom is a system call: one per 128 ids, not one per id

_lock = threading.Lock()
_last_ms = 0
_last_counter = 0
_random = b""
_random_at = 0

_new_object = object.__new__
_set_int = uuid.UUID.__dict__["int"].__set__
_set_is_safe = uuid.UUID.__dict__["is_safe"].__set__
_UNKNOWN_SAFETY = uuid.SafeUUID.unknown


def uuid_from_int(value: int) -> uuid.UUID:
    """``uuid.UUID(int=value)`` without its range check, for values this package built.

    ``UUID`` refuses ``setattr`` (it is immutable), so its two slots are set through their
    descriptors; it costs a third of the constructor, which matters where thousands are made."""
    made = _new_object(uuid.UUID)
    _set_int(made, value)
    _set_is_safe(made, _UNKNOWN_SAFETY)
    return made


def uuid7() -> uuid.UUID:
    """A new version 7 UUID, greater than every other this process made before."""
    global _last_ms, _last_counter, _random, _random_at
    _lock.acquire()
    try:
        at = _random_at
        if at == len(_random):
            _random, at = os.urandom(_RANDOM_BYTES * _IDS_PER_RANDOM_READ), 0
        _random_at = at + _RANDOM_BYTES
        random_bits = int.from_bytes(_random[at : at + _RANDOM_BYTES])
        milliseconds = time.time_ns() // 1_000_000
        if milliseconds > _last_ms:
            # A fresh millisecond: a random counter start, its top bit clear to leave room to count.
            counter = random_bits >> _COUNTER_SEED_SHIFT
        else:
            # The same millisecond, or the clock stepped back: count on from the last id.
            milliseconds, counter = _last_ms, _last_counter + 1
            if counter > _COUNTER_MAX:  # 2**41 ids in one millisecond: borrow the next one
                milliseconds, counter = milliseconds + 1, random_bits >> _COUNTER_SEED_SHIFT
        _last_ms, _last_counter = milliseconds, counter
    finally:
        _lock.release()
    return uuid_from_int(
        (milliseconds & 0xFFFF_FFFF_FFFF) << 80
        | _VERSION_7
        | (counter >> _COUNTER_LOW_BITS) << 64
        | _VARIANT_RFC
        | (counter & _COUNTER_LOW_MASK) << 32
        | random_bits & 0xFFFF_FFFF
    )


def _forget_randomness_after_fork() -> None:
    """A forked child must not hand out the random bits its parent also holds, nor count on
    from the parent's counter: both would make the same ids in the same millisecond."""
    global _last_ms, _last_counter, _random, _random_at
    _random, _random_at = b"", 0
    _last_ms = _last_counter = 0


os.register_at_fork(after_in_child=_forget_randomness_after_fork)
