"""The version source and the response cache on their own: ordering, staleness, bounds."""

import threading

from service.readcache import AliasBook, CachedAnswer, ReadModelVersion, ResponseCache
from service.readcache.version import VersionSource

V1 = ReadModelVersion(1, "read_models=1@a")
V2 = ReadModelVersion(2, "read_models=2@b")
V3 = ReadModelVersion(3, "read_models=3@c")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_version_is_served_until_it_is_max_age_old():
    clock, reads = Clock(), [V1, V2]
    source = VersionSource(lambda: reads.pop(0), max_age_seconds=0.1, clock=clock)
    assert source.current() is None  # nothing read yet
    assert source.refresh() == V1
    clock.now = 0.099
    assert source.current() == V1
    clock.now = 0.1
    assert source.current() is None
    assert source.refresh() == V2
    assert source.current() == V2


def test_a_refresh_falls_due_at_half_the_max_age_while_the_version_is_still_served():
    clock = Clock()
    source = VersionSource(lambda: V1, max_age_seconds=0.1, clock=clock)
    assert source.peek() == (None, True)
    source.refresh()
    clock.now = 0.049
    assert source.peek() == (V1, False)
    clock.now = 0.05
    assert source.peek() == (V1, True)
    clock.now = 0.1
    assert source.peek() == (None, True)


def test_mark_stale_makes_the_next_current_ask_again():
    clock = Clock()
    source = VersionSource(lambda: V1, max_age_seconds=60, clock=clock)
    source.refresh()
    source.mark_stale(42)
    assert source.current() is None
    source.refresh()
    assert source.current() == V1


def test_a_slow_read_of_an_old_version_never_hides_a_newer_one():
    """Two refreshes overlap: the one that started first finishes last, with the old version."""
    clock = Clock()
    release_slow, slow_started = threading.Event(), threading.Event()
    answers = {"slow": V1, "fast": V2}

    def read() -> ReadModelVersion:
        name = threading.current_thread().name
        if name == "slow":
            slow_started.set()
            release_slow.wait(10)
        return answers[name]

    source = VersionSource(read, max_age_seconds=60, clock=clock)
    slow = threading.Thread(target=source.refresh, name="slow")
    slow.start()
    slow_started.wait(10)
    clock.now = 1.0
    fast = threading.Thread(target=source.refresh, name="fast")
    fast.start()
    fast.join(10)
    release_slow.set()
    slow.join(10)
    assert source.current() == V2


def test_a_refresh_that_started_before_mark_stale_does_not_count_as_fresh():
    clock = Clock()
    source = VersionSource(lambda: V1, max_age_seconds=60, clock=clock)
    count = source.stale_count
    source.mark_stale()  # a write committed while that read was under way
    source.observe(V1, read_started_at=clock(), stale_count=count)
    assert source.current() is None


def test_observe_takes_a_version_only_from_a_later_read():
    clock = Clock()
    source = VersionSource(lambda: V2, max_age_seconds=60, clock=clock)
    clock.now = 5.0
    source.refresh()
    assert source.observe(V1, read_started_at=4.0, stale_count=source.stale_count) == V2
    assert source.observe(V3, read_started_at=6.0, stale_count=source.stale_count) == V3
    assert source.current() == V3


def answer(version: ReadModelVersion, body: bytes) -> CachedAnswer:
    return CachedAnswer(version=version, status=200, media_type="application/json", body=body)


def test_an_entry_is_found_only_at_its_own_version():
    cache = ResponseCache(max_bytes=1 << 20, max_entries=10)
    cache.put("q", answer(V1, b"one"))
    assert cache.get("q", V1).body == b"one"  # type: ignore[union-attr]
    assert cache.get("q", V2) is None
    assert cache.get("other", V1) is None
    cache.put("q", answer(V2, b"two"))
    assert len(cache) == 1
    assert cache.get("q", V2).body == b"two"  # type: ignore[union-attr]


def test_the_cache_evicts_least_recently_used_to_its_bounds():
    cache = ResponseCache(max_bytes=1 << 20, max_entries=3)
    for name in "abc":
        cache.put(name, answer(V1, name.encode()))
    cache.get("a", V1)  # a is now the most recently used
    cache.put("d", answer(V1, b"d"))
    assert [cache.get(n, V1) is not None for n in "abcd"] == [True, False, True, True]

    by_bytes = ResponseCache(max_bytes=4 * 1400, max_entries=100)
    for n in range(20):
        by_bytes.put(n, answer(V1, b"x" * 1000))
    assert by_bytes.size_bytes <= by_bytes.max_bytes
    assert 0 < len(by_bytes) < 20
    by_bytes.put("huge", answer(V1, b"x" * 2000))  # over a quarter of the budget: not kept
    assert by_bytes.get("huge", V1) is None


def test_a_cache_of_zero_bytes_keeps_nothing():
    cache = ResponseCache(max_bytes=0, max_entries=100)
    cache.put("q", answer(V1, b"one"))
    assert not cache.enabled and len(cache) == 0


def test_the_alias_book_is_bounded():
    book = AliasBook(max_entries=2)
    book.remember("a", "key-a", "route")
    book.remember("b", "key-b")
    book.lookup("a")
    book.remember("c", "key-c")
    assert book.lookup("a") == ("key-a", "route")
    assert book.lookup("b") is None
    assert len(book) == 2
