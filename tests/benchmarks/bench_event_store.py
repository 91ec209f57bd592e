"""Event store throughput: appends (1 and 100 events per transaction) and paged reads.

Run: ``python -m tests.benchmarks.bench_event_store [--backend sqlite|postgresql|both]``.
Prints the machine, the backend, the number of operations and the median of several runs.
"""

import argparse
import uuid

from service.db import Database
from service.store.event_store import ANY_VERSION, NO_STREAM, EventStore, NewEvent
from tests.benchmarks.common import fresh_engine, load_line, machine_line, median_rate

_PAYLOAD = {
    "statement_id": "6f1c1c52-64c1-4c36-8d43-1f3b5b0a3c11",
    "actor_id": "lukashenko",
    "topic_id": "war-justified",
    "stance": "supports",
    "quote": "Russia is strong enough alone to demilitarize the Nazis.",
    "stated_at": "2022-05-16T00:00:00+00:00",
}


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


def run(backend: str, runs: int, single: int, batches: int) -> None:
    with fresh_engine(backend) as engine:
        db, store = Database(engine), EventStore()
        print(f"\n[{backend}] {load_line()}")
        print(f"[{backend}] append, 1 event per transaction: {single} transactions x {runs} runs")
        rate, rates = median_rate(runs, lambda: bench_single(db, store, single))
        print(f"  median {rate:,.0f} events/s   runs: {', '.join(f'{r:,.0f}' for r in rates)}")
        print(f"[{backend}] append, 100 events per transaction: {batches} batches x {runs} runs")
        rate, rates = median_rate(runs, lambda: bench_batches(db, store, batches))
        print(f"  median {rate:,.0f} events/s   runs: {', '.join(f'{r:,.0f}' for r in rates)}")
        with db.read() as session:
            total = store.last_position(session)
        print(f"[{backend}] read_all in pages of 1000, decoded: {total:,} events x {runs} runs")
        rate, rates = median_rate(runs, lambda: bench_read_all(db, store))
        print(f"  median {rate:,.0f} events/s   runs: {', '.join(f'{r:,.0f}' for r in rates)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--single", type=int, default=2000, help="transactions per run")
    parser.add_argument("--batches", type=int, default=200, help="batches of 100 per run")
    args = parser.parse_args()
    print(machine_line())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run(backend, args.runs, args.single, args.batches)


if __name__ == "__main__":
    main()
