"""Shared plumbing for the benchmark scripts: fresh databases, timing, and the machine line."""

import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import Engine

from service.config import normalise_database_url
from service.db import create_db_engine
from service.store import migrate

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def machine_line() -> str:
    """What the figures were measured on, printed above them."""
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def load_line() -> str:
    """The load average when a measurement starts: figures taken while other work competes for
    the cores are lower, and this says how much to trust them."""
    one, five, _fifteen = os.getloadavg()
    return f"load average: {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def stance_server(
    url: str,
    *serve_args: str,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    start_seconds: float = 60,
) -> Iterator[tuple[str, int]]:
    """``stance serve --no-worker`` on ``url`` in its own process, so its CPU is not the
    benchmark's; yields the base URL and the pid once ``/readyz`` answers 200."""
    port = free_port()
    environment = {
        **os.environ,
        "STANCE_DATABASE_URL": url,
        "STANCE_LOG_LEVEL": "warning",
        **(env or {}),
    }
    command = [sys.executable, "-m", "service", "serve", *serve_args, "--no-worker"]
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=environment, cwd=cwd, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(30)


def postgres_admin_url() -> str:
    return normalise_database_url(os.environ.get("STANCE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))


@contextmanager
def fresh_engine(backend: str) -> Iterator[Engine]:
    """A migrated, empty database of ``backend`` ("sqlite" or "postgresql"), dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            engine = create_db_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
            migrate.upgrade(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    admin_url = postgres_admin_url()
    name = f"stance_bench_{uuid.uuid4().hex[:8]}"
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_db_engine(admin_url.rsplit("/", 1)[0] + f"/{name}")
    migrate.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def median_rate(runs: int, work: Callable[[], int]) -> tuple[float, list[float]]:
    """Run ``work`` (which returns how many operations it did) ``runs`` times; median ops/s."""
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        done = work()
        rates.append(done / (time.perf_counter() - started))
    return statistics.median(rates), rates


APPEND_SINGLE = "append, 1 event per transaction"
APPEND_BATCH = "append, 100 events per transaction"
READ_ALL = "read the whole log in pages of 1000, decoded"
STORE_OPERATIONS = (APPEND_SINGLE, APPEND_BATCH, READ_ALL)
"""What ``bench_event_store`` and ``bench_reference`` both measure, in the order they run."""


@dataclass(frozen=True)
class Measured:
    """Operations per second of several runs of one piece of work, by the wall clock, and the
    process CPU time each operation took (what a busy machine inflates least)."""

    operations: int
    rates: list[float]
    cpu_us_per_operation: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    @property
    def median_cpu_us(self) -> float:
        return statistics.median(self.cpu_us_per_operation)

    def line(self) -> str:
        runs = ", ".join(f"{rate:,.0f}" for rate in self.rates)
        return (
            f"  median {self.median:,.0f} /s   runs: {runs}   "
            f"(process CPU {self.median_cpu_us:,.1f} us each)"
        )


def measure(runs: int, work: Callable[[], int]) -> Measured:
    """Run ``work`` (which returns how many operations it did) ``runs`` times."""
    rates, cpu = [], []
    operations = 0
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        operations = work()
        wall, spent = time.perf_counter() - started, time.process_time() - cpu_started
        rates.append(operations / wall)
        cpu.append(spent / operations * 1e6)
    return Measured(operations, rates, cpu)
