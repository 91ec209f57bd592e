"""The reference the performance targets are set against: the ``eventsourcing`` library (9.5.6).

BENCHMARKS.md gives its figures from another sitting; machines here differ by up to 50% from one
hour to the next, so the honest comparison runs the reference on the same machine, in the same
sitting, with the same operations as ``bench_event_store``: appends of 1 and of 100 events per
transaction, and reading the whole log in pages of 1000, decoded to domain events.

Run: ``pip install -e '.[bench]'``, then
``python -m tests.benchmarks.bench_reference [--backend sqlite|postgresql|both]``, or
``python -m tests.benchmarks.bench_event_store --reference`` for both side by side.
"""

import argparse
import tempfile
import uuid
from pathlib import Path

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from tests.benchmarks.common import (
    APPEND_BATCH,
    APPEND_SINGLE,
    READ_ALL,
    Measured,
    load_line,
    machine_line,
    measure,
    postgres_admin_url,
)

_QUOTE = "Russia is strong enough alone to demilitarize the Nazis."


class Statement(Aggregate):
    """The same payload as the project's benchmark event, as an eventsourcing aggregate."""

    @event("Recorded")
    def __init__(self, actor_id: str, topic_id: str, stance: str, quote: str) -> None:
        self.actor_id, self.topic_id, self.stance, self.quote = actor_id, topic_id, stance, quote

    @event("Noted")
    def note(self, quote: str) -> None:
        self.quote = quote


def _application(backend: str, directory: Path) -> tuple[Application, str | None]:
    """An application on a fresh SQLite file, or on a fresh schema of the benchmark database."""
    if backend == "sqlite":
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(directory / "r.db"),
        }
        return Application(env={**env, "CREATE_TABLE": "y"}), None
    schema = f"ref_{uuid.uuid4().hex[:10]}"
    libpq = postgres_admin_url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    info = psycopg.conninfo.conninfo_to_dict(libpq)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(info.get("dbname", "postgres")),
        "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(info.get("port", "5432")),
        "POSTGRES_USER": str(info.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(info.get("password", "")),
        "POSTGRES_SCHEMA": schema,
    }
    return Application(env={**env, "CREATE_TABLE": "y"}), schema


def _append_single(app: Application, count: int) -> int:
    for _ in range(count):
        app.save(Statement("lukashenko", "war-justified", "supports", _QUOTE))
    return count


def _append_batches(app: Application, batches: int, size: int = 100) -> int:
    for _ in range(batches):
        statement = Statement("lukashenko", "war-justified", "supports", _QUOTE)
        for _ in range(size - 1):
            statement.note(_QUOTE)
        app.save(statement)
    return batches * size


def _read_all(app: Application, page: int = 1000) -> int:
    read, start = 0, 1
    to_domain_event = app.mapper.to_domain_event
    while notifications := app.recorder.select_notifications(start=start, limit=page):
        for notification in notifications:
            to_domain_event(notification)
        read += len(notifications)
        start = notifications[-1].id + 1
    return read


def _drop_schema(schema: str) -> None:
    libpq = postgres_admin_url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(backend: str, runs: int, single: int, batches: int) -> dict[str, Measured]:
    """Measure the three operations on a fresh store of ``backend``, printing as it goes."""
    label = f"[eventsourcing {backend}]"
    results: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory() as directory:
        app, schema = _application(backend, Path(directory))
        try:
            print(f"\n{label} {load_line()}")
            print(f"{label} {APPEND_SINGLE}: {single} transactions x {runs} runs")
            results[APPEND_SINGLE] = measure(runs, lambda: _append_single(app, single))
            print(results[APPEND_SINGLE].line())
            print(f"{label} {APPEND_BATCH}: {batches} batches x {runs} runs")
            results[APPEND_BATCH] = measure(runs, lambda: _append_batches(app, batches))
            print(results[APPEND_BATCH].line())
            total = runs * (single + batches * 100)
            print(f"{label} {READ_ALL}: {total:,} events x {runs} runs")
            results[READ_ALL] = measure(runs, lambda: _read_all(app))
            print(results[READ_ALL].line())
        finally:
            app.close()
            if schema is not None:
                _drop_schema(schema)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    print(machine_line())
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.runs, args.single, args.batches)


if __name__ == "__main__":
    main()
