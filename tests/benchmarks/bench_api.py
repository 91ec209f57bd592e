"""HTTP load on a running server (one uvicorn worker), on SQLite and PostgreSQL.

Run: ``python -m tests.benchmarks.bench_api [--backend sqlite|postgresql|both] [--seconds 10]
[--runs 3] [--connections 16] [--matrix 20x10] [--no-cache] [--server-src DIR]
[--only current,dates,random,post]``.

The server is its own process (``stance serve --demo --no-worker``, access log off); the load
comes from ``wrk`` in another (``tests/benchmarks/load.py``; a multi-process Python client when
wrk is missing). Scenarios, each reported on its own line so the cache is not taken for query
speed:

* ``current``: ``GET /v1/stances``, the same request again and again (served from the cache);
* ``dates``: ``GET /v1/stances?as_of=`` cycling through five dates (cached after the first);
* ``random``: a random ``as_of`` instant per request, so nearly every request runs the query;
* ``post``: ``POST /v1/statements``, 500 bodies over the demo's pairs in turn (each write moves
  the read models).

``--matrix AxT`` adds A actors x T topics (10 statements per pair) to the demo, for a bigger
matrix; ``--no-cache`` sets ``STANCE_READ_CACHE_MAX_BYTES=0``; ``--server-src DIR`` runs the
server from another checkout (``git worktree add /tmp/before <commit>``) for a before/after
comparison in the same sitting. Each line is the median of ``--runs`` runs, with the server's
CPU time per request, the number that moves least with the neighbours' load.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from service.config import Settings
from service.db import Database, create_db_engine
from service.demo.catalog import ACTORS, TOPICS
from service.domain.stances import Stance
from service.store import migrate
from service.wiring import build_services
from tests.benchmarks.common import (
    load_line,
    machine_line,
    postgres_admin_url,
    stance_server,
)
from tests.benchmarks.load import LoadResult, Request, run_load

DATES = ("2022-01-01", "2022-03-01", "2022-05-16", "2022-06-30", "2023-01-01")
SOURCE = {"url": "https://example.org/wire", "title": "Wire report", "publisher": "Example Wire"}


def _statements(count: int) -> tuple[bytes, ...]:
    """POST bodies spread over the demo's pairs, stances and ten years, as a newsroom's are
    (one pair written again and again would measure that pair's history growing)."""
    rng = random.Random(7)
    actors, topics = [a.actor_id for a in ACTORS], [t.topic_id for t in TOPICS]
    return tuple(
        json.dumps(
            {
                "actor_id": rng.choice(actors),
                "topic_id": rng.choice(topics),
                "stance": rng.choice(list(Stance)).value,
                "quote": f"Benchmark statement {n}.",
                "stated_at": f"{rng.randrange(2015, 2025)}-{rng.randrange(1, 13):02d}-"
                f"{rng.randrange(1, 29):02d}",
                "kind": "direct_quote",
                "source": SOURCE,
            }
        ).encode()
        for n in range(count)
    )


@contextmanager
def _database_url(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    admin = postgres_admin_url()
    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"stance_api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _add_matrix(url: str, actors: int, topics: int) -> None:
    """Add ``actors`` x ``topics`` pairs with 10 statements each (the projection benchmark's)."""
    from tests.benchmarks.bench_projections import populate

    engine = create_db_engine(url)
    try:
        migrate.upgrade(engine)
        services = build_services(Settings(database_url=url), Database(engine))
        populate(services, actors=actors, topics=topics, statements=actors * topics * 10)
        services.projector.catch_up()
    finally:
        engine.dispose()


@dataclass
class Server:
    base: str
    pid: int
    url: str


@contextmanager
def _server(url: str, *, source: str | None, no_cache: bool) -> Iterator[Server]:
    env = {"STANCE_READ_CACHE_MAX_BYTES": "0"} if no_cache else {}
    if source:
        env["PYTHONPATH"] = source
    with stance_server(url, "--demo", env=env, cwd=source, start_seconds=120) as (base, pid):
        yield Server(base=base, pid=pid, url=url)


def _writer_key(url: str, source: str | None) -> str:
    env = {**os.environ, "STANCE_DATABASE_URL": url}
    if source:
        env["PYTHONPATH"] = source
    created = subprocess.run(
        [sys.executable, "-m", "service", "keys", "create", f"bench-{uuid.uuid4().hex[:6]}"],
        env=env,
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    )
    # The key is printed once, alone on its line, before a note about it.
    return next(word for word in created.stdout.split() if word.startswith("stk_"))


def _scenarios(key: str) -> dict[str, tuple[str, Request]]:
    post = Request(
        "/v1/statements",
        method="POST",
        bodies=_statements(500),
        headers=(("Content-Type", "application/json"), ("Authorization", f"Bearer {key}")),
    )
    return {
        "current": ("GET /v1/stances (current, repeated)", Request("/v1/stances")),
        "dates": (
            f"GET /v1/stances?as_of= ({len(DATES)} dates in turn)",
            Request("/v1/stances?as_of=", dates=DATES),
        ),
        "random": (
            "GET /v1/stances?as_of= (a random instant each)",
            Request("/v1/stances?as_of=", random_dates=True),
        ),
        "post": ("POST /v1/statements", post),
    }


def _median_line(label: str, results: list[LoadResult]) -> str:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    cpu = [r.server_cpu_us for r in results if r.server_cpu_us is not None]
    cpu_text = f", server CPU {median(cpu):,.0f} µs/request" if cpu else ""
    rates = ", ".join(f"{r.rate:,.0f}" for r in results)
    return (
        f"  {label}\n"
        f"    {median([r.rate for r in results]):,.0f} requests/s (runs: {rates}); "
        f"latency p50 {median([r.p50_ms for r in results]):.2f} ms, "
        f"p90 {median([r.p90_ms for r in results]):.2f} ms, "
        f"p99 {median([r.p99_ms for r in results]):.2f} ms{cpu_text}; "
        f"{sum(r.requests for r in results):,} requests, {sum(r.errors for r in results)} errors"
    )


def run(backend: str, args: argparse.Namespace) -> None:
    with _database_url(backend) as url:
        if args.matrix:
            actors, topics = (int(n) for n in args.matrix.lower().split("x"))
            _add_matrix(url, actors, topics)
        with _server(url, source=args.server_src, no_cache=args.no_cache) as server:
            size = len(httpx.get(f"{server.base}/v1/stances", timeout=30).content)
            scenarios = _scenarios(_writer_key(url, args.server_src))
            print(
                f"\n[{backend}] one uvicorn worker (pid {server.pid}"
                f"{', from ' + args.server_src if args.server_src else ''}"
                f"{', cache off' if args.no_cache else ''}); {args.connections} connections, "
                f"{args.seconds:.0f} s per run, {args.runs} runs; the matrix is {size:,} bytes"
            )
            for name in args.only.split(","):
                label, request = scenarios[name]
                print(f"  ({load_line()})", flush=True)
                results = [
                    run_load(
                        server.base,
                        request,
                        seconds=args.seconds,
                        connections=args.connections,
                        server_pid=server.pid,
                    )
                    for _ in range(args.runs)
                ]
                print(_median_line(f"{label} [{results[0].generator}]", results), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--matrix", default="", help="add AxT actors x topics, e.g. 20x10")
    parser.add_argument("--no-cache", action="store_true", help="STANCE_READ_CACHE_MAX_BYTES=0")
    parser.add_argument("--server-src", default=None, help="run the server from this checkout")
    parser.add_argument("--only", default="current,dates,random,post")
    args = parser.parse_args()
    print(machine_line())
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        run(backend, args)


if __name__ == "__main__":
    main()
