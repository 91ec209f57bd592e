"""``CachedReads`` on a real database: one computation per query and version at a time, and
each answer filed under the version of the snapshot it was computed in."""

import asyncio
import threading

from sqlalchemy import Connection

from service.db import Database
from service.projections import checkpoints
from service.readcache import Built, CachedReads, ResponseCache, VersionSource, read_version


def cached_reads(database: Database) -> CachedReads:
    version = VersionSource.for_database(database, max_age_seconds=60)
    return CachedReads(database, version, ResponseCache(max_bytes=1 << 20, max_entries=100))


def move_checkpoint(database: Database, position: int) -> None:
    """What a projector's commit does to the version."""
    with database.write() as session:
        connection = session.connection()
        checkpoints.lock(connection, "read_models")
        checkpoints.save(connection, "read_models", position)


def test_concurrent_misses_share_one_computation(database: Database):
    reads = cached_reads(database)
    calls, release = [], threading.Event()

    def build(_connection: Connection) -> Built:
        calls.append(1)
        release.wait(10)
        return Built(200, b"matrix")

    async def scenario() -> list[bytes]:
        waiting = [asyncio.create_task(reads.answer("q", build)) for _ in range(8)]
        while not calls:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # everyone is waiting on the one computation
        release.set()
        return [answer.body for answer in await asyncio.gather(*waiting)]

    assert asyncio.run(scenario()) == [b"matrix"] * 8
    assert len(calls) == 1
    assert reads.cache.get("q", reads.version.current()) is not None  # type: ignore[arg-type]


def test_a_write_after_a_computation_started_gets_a_computation_of_its_own(database: Database):
    """A request that comes after a write must not join a computation begun before it."""
    reads = cached_reads(database)
    move_checkpoint(database, 1)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def build(connection: Connection) -> Built:
        position = read_version(connection).position
        calls.append(position)
        if len(calls) == 1:
            started.set()
            release.wait(10)
        return Built(200, str(position).encode())

    async def scenario() -> tuple[bytes, bytes]:
        early = asyncio.create_task(reads.answer("q", build))
        await asyncio.to_thread(started.wait, 10)
        move_checkpoint(database, 2)
        reads.version.mark_stale()
        late = asyncio.create_task(reads.answer("q", build))
        while len(calls) < 2:
            await asyncio.sleep(0.01)
        release.set()
        return (await early).body, (await late).body

    early_body, late_body = asyncio.run(scenario())
    assert (early_body, late_body) == (b"1", b"2")
    assert calls == [1, 2]


def test_an_answer_is_filed_under_the_version_its_snapshot_saw(database: Database):
    reads = cached_reads(database)
    move_checkpoint(database, 5)
    answer = asyncio.run(reads.answer("q", lambda c: Built(200, b"x")))
    assert answer.version.position == 5
    assert answer.etag is not None
    move_checkpoint(database, 6)
    reads.version.mark_stale()
    again = asyncio.run(reads.answer("q", lambda c: Built(200, b"y")))
    assert (again.version.position, again.body) == (6, b"y")
    assert again.etag != answer.etag


def test_a_rebuild_at_the_same_position_is_a_new_version(database: Database):
    move_checkpoint(database, 7)
    with database.read() as session:
        before = read_version(session.connection())
    move_checkpoint(database, 7)  # a rebuild ends where the log ends, with a new updated_at
    with database.read() as session:
        after = read_version(session.connection())
    assert before.position == after.position == 7
    assert before != after


def test_a_snapshot_sees_one_state_of_the_read_models(database: Database):
    move_checkpoint(database, 3)
    with database.snapshot() as connection:
        before = read_version(connection)
        move_checkpoint(database, 4)  # another connection commits meanwhile
        assert read_version(connection) == before
    with database.snapshot() as connection:
        assert read_version(connection).position == 4


def test_a_due_refresh_runs_in_the_background_and_nobody_waits_for_it(database: Database):
    now = [0.0]
    version = VersionSource.for_database(database, max_age_seconds=1.0, clock=lambda: now[0])
    reads = CachedReads(database, version, ResponseCache(max_bytes=1 << 20, max_entries=10))
    move_checkpoint(database, 1)

    async def scenario() -> tuple[int, int, int]:
        first = (await reads.current_version()).position
        move_checkpoint(database, 2)  # another process; nothing marks this one stale
        now[0] = 0.6  # past half the max age: due, but the held version still serves
        served = (await reads.current_version()).position
        for _ in range(500):  # until the background refresh lands
            if not version.peek()[1]:
                break
            await asyncio.sleep(0.01)
        return first, served, (await reads.current_version()).position

    assert asyncio.run(scenario()) == (1, 1, 2)
