"""Event store throughput: appends (1 and 100 events per transaction) and paged reads.

Run: ``python -m tests.benchmarks.bench_event_store [--backend sqlite|postgresql|both]
[--reference]``. Prints the machine, the backend, the number of operations, the median of several
runs and the targets of BENCHMARKS.md. With ``--reference`` the eventsourcing library (the ``bench``
extra) runs the same operations right after the project on each backend, and a table puts both side
by side with their ratio: the comparison the targets were set by, in one sitting.
"""

import argparse
import sys
import uuid

from service.db import Database
from service.store.event_store import ANY_VERSION, NO_STREAM, EventStore, NewEvent
from tests.benchmarks.common import (
    APPEND_BATCH,
    APPEND_SINGLE,
    READ_ALL,
    STORE_OPERATIONS,
    Measured,
    fresh_engine,
    load_line,
    machine_line,
    measure,
)

_PAYLOAD = {
    "statement_id": "6f1c1c52-64c1-4c36-8d43-1f3b5b0a3c11",
    "actor_id": "lukashenko",
    "topic_id": "war-justified",
    "stance": "supports",
    "quote": "Russia is strong enough alone to demilitarize the Nazis.",
    "stated_at": "2022-05-16T00:00:00+00:00",
}

TARGETS: dict[str, dict[str, float]] = {
    "sqlite": {APPEND_SINGLE: 5_000, APPEND_BATCH: 50_000, READ_ALL: 150_000},
    "postgresql": {APPEND_SINGLE: 1_500, APPEND_BATCH: 25_000, READ_ALL: 100_000},
}
"""Events per second, from BENCHMARKS.md."""


def _event() -> NewEvent:
    return NewEvent(type="StatementRecorded", data=_PAYLOAD, metadata={"recorded_by": "bench"})


def bench_single(db: Database, store: EventStore, count: int) -> int:
    for _ in range(count):
        with db.write() as session:
            store.append(
                session,
                stream_id=f"statement-{uuid.uuid4()}",
                expected_version=NO_STREAM,
                events=[_event()],
            )
    return count


def bench_batches(db: Database, store: EventStore, batches: int, size: int = 100) -> int:
    for _ in range(batches):
        with db.write() as session:
            store.append(
                session,
                stream_id=f"batch-{uuid.uuid4()}",
                expected_version=ANY_VERSION,
                events=[_event() for _ in range(size)],
            )
    return batches * size


def bench_read_all(db: Database, store: EventStore, page: int = 1000) -> int:
    read, after = 0, 0
    with db.read() as session:
        while events := store.read_all(session, after=after, limit=page):
            read += len(events)
            after = events[-1].position
    return read


def run(backend: str, runs: int, single: int, batches: int) -> dict[str, Measured]:
    """Measure the three operations on a fresh, migrated database, printing as it goes."""
    results: dict[str, Measured] = {}
    with fresh_engine(backend) as engine:
        db, store = Database(engine), EventStore()
        print(f"\n[{backend}] {load_line()}")
        print(f"[{backend}] {APPEND_SINGLE}: {single} transactions x {runs} runs")
        results[APPEND_SINGLE] = measure(runs, lambda: bench_single(db, store, single))
        print(results[APPEND_SINGLE].line())
        print(f"[{backend}] {APPEND_BATCH}: {batches} batches x {runs} runs")
        results[APPEND_BATCH] = measure(runs, lambda: bench_batches(db, store, batches))
        print(results[APPEND_BATCH].line())
        with db.read() as session:
            total = store.last_position(session)
        print(f"[{backend}] {READ_ALL}: {total:,} events x {runs} runs")
        results[READ_ALL] = measure(runs, lambda: bench_read_all(db, store))
        print(results[READ_ALL].line())
    return results


def summary(
    backend: str, project: dict[str, Measured], reference: dict[str, Measured] | None
) -> str:
    """The medians against the targets and, when measured, against the reference."""
    head = f"{'operation':<46}{'project':>11}"
    if reference is not None:
        head += f"{'reference':>11}{'ratio':>8}"
    lines = [f"\n[{backend}] summary, events/s (medians)", head + f"{'target':>10}  holds"]
    for operation in STORE_OPERATIONS:
        ours, target = project[operation].median, TARGETS[backend][operation]
        line = f"{operation:<46}{ours:>11,.0f}"
        if reference is not None:
            theirs = reference[operation].median
            line += f"{theirs:>11,.0f}{ours / theirs:>7.2f}x"
        lines.append(line + f"{target:>10,.0f}  {'yes' if ours >= target else 'NO'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--single", type=int, default=2000, help="transactions per run")
    parser.add_argument("--batches", type=int, default=200, help="batches of 100 per run")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also run the eventsourcing reference (the bench extra) and compare",
    )
    args = parser.parse_args()
    reference_run = None
    if args.reference:
        try:
            from tests.benchmarks import bench_reference
        except ImportError as error:
            sys.exit(f"--reference needs the bench extra: pip install -e '.[bench]' ({error})")
        reference_run = bench_reference.run
    print(machine_line())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    summaries = []
    for backend in backends:
        project = run(backend, args.runs, args.single, args.batches)
        reference = None
        if reference_run is not None:
            reference = reference_run(backend, args.runs, args.single, args.batches)
        summaries.append(summary(backend, project, reference))
    print("\n".join(summaries))
    print(f"\n{load_line()}")


if __name__ == "__main__":
    main()
