"""HTTP load on a running server (one uvicorn worker): GET /v1/stances now and as_of, and
POST /v1/statements, on SQLite and PostgreSQL.

Run: ``python -m tests.benchmarks.bench_api [--backend sqlite|postgresql|both] [--seconds 10]``.
The server runs as its own process (``stance serve --no-worker``) with the demo loaded; the load
comes from an asyncio client in this process, on the same 2-core machine, so the figures are a
floor for a server with a core of its own.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.benchmarks.common import machine_line, postgres_admin_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@contextmanager
def _server(url: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "STANCE_DATABASE_URL": url, "STANCE_LOG_LEVEL": "warning"}
    command = [
        sys.executable,
        "-m",
        "service",
        "serve",
        "--demo",
        "--no-worker",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)


async def _load(
    base: str, make_request: Callable[[httpx.AsyncClient], Any], *, seconds: float, concurrency: int
) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def user() -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                response = await make_request(client)
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return round(len(latencies) / elapsed), latencies, errors


def _report(label: str, rate: int, latencies: list[float], errors: int) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"  {label}: {rate:,} requests/s, latency p50 {1000 * cuts[49]:.1f} ms, "
        f"p95 {1000 * cuts[94]:.1f} ms, p99 {1000 * cuts[98]:.1f} ms "
        f"({len(latencies):,} requests, {errors} errors)"
    )


def _statement() -> dict[str, Any]:
    return {
        "actor_id": "tokayev",
        "topic_id": "war-justified",
        "stance": "leans_opposes",
        "quote": "Look at Ukraine carefully!",
        "stated_at": "2022-06-17",
        "kind": "direct_quote",
        "source": {"url": "https://example.org/spief", "title": "SPIEF", "publisher": "Wire"},
    }


def run(backend: str, seconds: float, concurrency: int) -> None:
    with _database_url(backend) as url, _server(url) as base:
        key = subprocess.run(
            [sys.executable, "-m", "service", "keys", "create", f"bench-{uuid.uuid4().hex[:6]}"],
            env={**os.environ, "STANCE_DATABASE_URL": url},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        print(
            f"\n[{backend}] one uvicorn worker, {concurrency} concurrent clients, "
            f"{seconds:.0f} s each"
        )
        scenarios: list[tuple[str, Callable[[httpx.AsyncClient], Any]]] = [
            ("GET /v1/stances (current)", lambda c: c.get("/v1/stances")),
            ("GET /v1/stances?as_of=2022-06-30", lambda c: c.get("/v1/stances?as_of=2022-06-30")),
            (
                "POST /v1/statements",
                lambda c: c.post("/v1/statements", json=_statement(), headers=headers),
            ),
        ]
        for label, request in scenarios:
            rate, latencies, errors = asyncio.run(
                _load(base, request, seconds=seconds, concurrency=concurrency)
            )
            _report(label, rate, latencies, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(machine_line())
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        run(backend, args.seconds, args.concurrency)


if __name__ == "__main__":
    main()
