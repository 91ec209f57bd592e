"""Projection rebuild speed and as-of replay latency, next to a naive fold of the whole log, and
the database's share of a rebuild (``rebuild_floor``): the most speed any fold could reach.

Run: ``python -m tests.benchmarks.bench_projections [--backend sqlite|postgresql|both]
[--actors 100 --topics 50 --statements 200000]``. Prints the machine, the backend, the sizes and
medians of several runs.
"""

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from service.config import Settings
from service.db import Database
from service.domain.commands import DefineTopic, RegisterActor
from service.domain.events import StatementRecorded, decode, encode, statement_stream
from service.domain.replay import LoggedEvent, fold_stances
from service.domain.stances import Stance
from service.domain.values import RecordingMethod, Source, StatementKind
from service.queries import current_stances, stances
from service.store.event_store import NO_STREAM, NewEvent
from service.wiring import Services, build_services
from tests.benchmarks import rebuild_floor
from tests.benchmarks.common import fresh_engine, load_line, machine_line

SOURCE = Source("https://example.org/wire", "Wire report", "Example Wire", None)
BASE = datetime(2015, 1, 1, tzinfo=UTC)


def populate(services: Services, *, actors: int, topics: int, statements: int) -> None:
    services.bus.after_write = []
    actor_ids = [f"actor-{n}" for n in range(actors)]
    topic_ids = [f"topic-{n}" for n in range(topics)]
    for actor in actor_ids:
        services.bus.execute(RegisterActor(actor, actor, "person", "KZ"))
    for topic in topic_ids:
        services.bus.execute(DefineTopic(topic, topic, f"{topic} is right"))
    rng = random.Random(42)
    stance_list = list(Stance)
    per_transaction = 2000
    for start in range(0, statements, per_transaction):
        with services.database.write() as session:
            for n in range(start, min(statements, start + per_transaction)):
                statement_id = uuid.UUID(int=rng.getrandbits(128))
                event = StatementRecorded(
                    statement_id=statement_id,
                    actor_id=rng.choice(actor_ids),
                    topic_id=rng.choice(topic_ids),
                    stance=rng.choice(stance_list),
                    quote=f"statement {n}",
                    stated_at=BASE + timedelta(minutes=rng.randrange(60 * 24 * 365 * 10)),
                    kind=StatementKind.PARAPHRASE,
                    source=SOURCE,
                    confidence=0.9,
                    method=RecordingMethod.MANUAL,
                    requires_review=False,
                )
                services.store.append(
                    session,
                    stream_id=statement_stream(statement_id),
                    expected_version=NO_STREAM,
                    events=[NewEvent(*encode(event))],
                )


def _timed(work, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return timings


def _timed_each(work, inputs: list) -> tuple[list[float], list[float]]:
    """Wall-clock and process CPU seconds of ``work`` on each input."""
    wall, cpu = [], []
    for value in inputs:
        started, cpu_started = time.perf_counter(), time.process_time()
        work(value)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return wall, cpu


def _random_points(rng: random.Random, first: datetime, last: datetime, count: int) -> list:
    """Distinct (as_of, known_at) points: each replay reads rectangles no other one did, so the
    cell cache cannot flatter these as it does a replay repeated at one point."""
    span = timedelta(days=365 * 10).total_seconds()
    return [
        (BASE + timedelta(seconds=rng.uniform(0, span)), first + (last - first) * rng.random())
        for _ in range(count)
    ]


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def run(backend: str, args: argparse.Namespace) -> None:
    with fresh_engine(backend) as engine:
        database = Database(engine)
        services = build_services(Settings(projector_batch_size=5000), database)
        started = time.perf_counter()
        populate(services, actors=args.actors, topics=args.topics, statements=args.statements)
        with database.read() as session:
            total = services.store.last_position(session)
        print(
            f"\n[{backend}] {args.actors} actors x {args.topics} topics x {args.statements:,} "
            f"statements = {total:,} events (written in {time.perf_counter() - started:.1f} s)"
        )
        rebuilds = _timed(services.projector.rebuild, args.rebuild_runs)
        rates = [total / t for t in rebuilds]
        print(
            f"  projection rebuild: median {statistics.median(rates):,.0f} events/s "
            f"({args.rebuild_runs} runs: {', '.join(f'{t:.1f} s' for t in rebuilds)})"
        )
        rebuild_floor.report(services, events=total, runs=args.rebuild_runs)
        if backend == "postgresql":
            with engine.connect() as connection:  # fresh statistics, as autovacuum would give
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        as_of = BASE + timedelta(days=365 * 7)
        with database.read() as session:
            known_at = services.store.read_all(session, after=total // 2, limit=1)[0].recorded_at
            first = services.store.read_all(session, after=0, limit=1)[0].recorded_at
            last = services.store.read_all(session, after=total - 1, limit=1)[0].recorded_at
        points = _random_points(random.Random(7), first, last, args.runs)
        print(f"  {load_line()}")
        with database.read() as session:
            connection = session.connection()
            cells = len(stances(connection, as_of=as_of, known_at=known_at))
            fixed = [(as_of, known_at)] * args.runs

            def replay_at(point: tuple[datetime, datetime]) -> None:
                stances(connection, as_of=point[0], known_at=point[1])

            def replay_now(point: tuple[datetime, datetime]) -> None:
                stances(connection, as_of=point[0])

            replay = _timed_each(replay_at, fixed)
            replay_open = _timed_each(replay_now, fixed)
            scattered = _timed_each(replay_at, points)
            scattered_open = _timed_each(replay_now, points)
            current = _timed_each(lambda _p: current_stances(connection), fixed)
        for label, (timings, cpu) in (
            (f"as-of matrix (as_of + known_at, {cells} cells)", replay),
            ("as-of matrix (as_of, known now)", replay_open),
            ("as-of matrix, a new random (as_of, known_at) each run", scattered),
            ("as-of matrix, a new random as_of each run, known now", scattered_open),
            ("current matrix", current),
        ):
            print(
                f"  {label}: median {1000 * statistics.median(timings):.1f} ms, "
                f"p95 {1000 * _p95(timings):.1f} ms over {args.runs} runs "
                f"(process CPU median {1000 * statistics.median(cpu):.1f} ms)"
            )
        started = time.perf_counter()
        with database.read() as session:
            log, after = [], 0
            while page := services.store.read_all(session, after=after, limit=10_000):
                log.extend(
                    LoggedEvent(e.position, e.recorded_at, decode(e.type, e.data)) for e in page
                )
                after = page[-1].position
        folded = fold_stances(log, as_of=as_of, known_at=known_at)
        naive = time.perf_counter() - started
        print(
            f"  naive fold of the whole log for the same answer: {naive:.2f} s "
            f"({len(folded)} cells)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--actors", type=int, default=100)
    parser.add_argument("--topics", type=int, default=50)
    parser.add_argument("--statements", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rebuild-runs", type=int, default=3)
    args = parser.parse_args()
    print(machine_line())
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        run(backend, args)


if __name__ == "__main__":
    main()
