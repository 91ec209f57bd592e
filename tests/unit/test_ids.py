"""Time-ordered ids: version 7 layout, strictly increasing in a process, unique across threads."""

import os
import threading
import time
import uuid
from types import SimpleNamespace

import pytest

from service.domain import ids
from service.domain.ids import uuid7, uuid_from_int
from service.store.event_store import NewEvent


def _milliseconds(value: uuid.UUID) -> int:
    return value.int >> 80


def test_uuid7_has_the_rfc_9562_layout_and_the_current_time() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000

    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= _milliseconds(made) <= after
    assert uuid.UUID(str(made)) == made  # a plain UUID, equal to its parsed text form


def test_uuid7_ids_increase_strictly_in_the_order_they_are_made() -> None:
    made = [uuid7() for _ in range(20_000)]  # many share a millisecond: the counter orders them

    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert len({_milliseconds(u) for u in made}) < len(made)


def test_uuid7_ids_are_unique_and_ordered_per_thread_across_threads() -> None:
    threads, per_thread = 8, 5_000
    made: list[list[uuid.UUID]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def make(index: int) -> None:
        start.wait()
        made[index].extend(uuid7() for _ in range(per_thread))

    workers = [threading.Thread(target=make, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    every = [u for own in made for u in own]
    assert len(set(every)) == threads * per_thread
    assert all(own == sorted(own) for own in made)


def test_uuid7_keeps_increasing_when_the_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time_ns()
    readings = iter([now, now - 5_000_000_000, now - 5_000_000_000, now + 1_000_000])
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: next(readings)))
    monkeypatch.setattr(ids, "_last_ms", 0)

    made = [uuid7() for _ in range(4)]

    assert made == sorted(made) and len(set(made)) == 4
    assert _milliseconds(made[1]) == _milliseconds(made[0])  # held at the last millisecond
    assert _milliseconds(made[3]) == now // 1_000_000 + 1


def test_uuid7_borrows_the_next_millisecond_when_the_counter_runs_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen = time.time_ns()
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: frozen))
    first = uuid7()
    monkeypatch.setattr(ids, "_last_counter", (1 << 42) - 1)

    after = uuid7()

    assert after > first
    assert _milliseconds(after) == _milliseconds(first) + 1


def test_uuid_from_int_equals_the_constructor() -> None:
    value = uuid.uuid4().int
    made = uuid_from_int(value)

    assert made == uuid.UUID(int=value)
    assert hash(made) == hash(uuid.UUID(int=value))
    assert str(made) == str(uuid.UUID(int=value))


def test_new_events_get_time_ordered_ids_by_default() -> None:
    events = [NewEvent("A", {}) for _ in range(1_000)]

    assert all(e.event_id.version == 7 for e in events)
    assert [e.event_id for e in events] == sorted(e.event_id for e in events)
    assert NewEvent("A", {}, uuid.UUID(int=5)).event_id == uuid.UUID(int=5)


def test_a_forked_child_makes_other_ids_than_its_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    # Frozen time: parent and child make their ids in the same millisecond, where a child that
    # kept its parent's counter and random bits would make exactly the parent's next ids.
    frozen = time.time_ns()
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: frozen))
    uuid7()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (runs in the child)
        try:
            os.write(write_end, b"".join(uuid7().bytes for _ in range(200)))
        finally:
            os._exit(0)
    os.close(write_end)
    parent_ids = {uuid7() for _ in range(200)}
    received = b""
    while chunk := os.read(read_end, 65536):
        received += chunk
    os.close(read_end)
    os.waitpid(child, 0)

    child_ids = {uuid.UUID(bytes=received[i : i + 16]) for i in range(0, len(received), 16)}
    assert len(child_ids) == 200
    assert not child_ids & parent_ids
