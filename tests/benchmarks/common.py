"""Shared plumbing for the benchmark scripts: fresh databases, timing, and the machine line."""

import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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
