"""A private PostgreSQL cluster for the tests that stop and restart the database.

The shared server at 127.0.0.1:5432 is used by everyone on the machine and must never be
restarted, so these tests make their own: ``initdb`` into a temporary directory, then ``pg_ctl``
on a free port, as the ``postgres`` OS user when running as root (``initdb`` refuses root), with
fsync on as in production. Trust authentication on 127.0.0.1 only.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("STANCE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> bool:
    return (PG_BIN / "initdb").is_file() and (PG_BIN / "pg_ctl").is_file()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    """``start()``, ``stop()``, ``restart()`` and ``url`` of a throwaway cluster."""

    def __init__(self, *, max_connections: int = 100) -> None:
        self.port = free_port()
        self._root = Path(tempfile.mkdtemp(prefix="stance-pg-"))
        self.data_dir = self._root / "data"
        self.log_file = self._root / "server.log"
        self._max_connections = max_connections
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self._root, "postgres", "postgres")
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-instructions",
            "-E",
            "UTF8",
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self._root}'\nfsync = on\n"
                f"max_connections = {max_connections}\nshared_buffers = 64MB\n"
            )

    @property
    def libpq_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.libpq_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def start(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "start",
        )
        self._wait_ready()

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    @property
    def running(self) -> bool:
        try:
            with psycopg.connect(self.libpq_url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop("immediate")
        shutil.rmtree(self._root, ignore_errors=True)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.libpq_url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _run(self, *command: str) -> None:
        full = ["runuser", "-u", "postgres", "--", *command] if self._as_postgres else list(command)
        subprocess.run(full, check=True, capture_output=True, cwd=self._root, timeout=120)
