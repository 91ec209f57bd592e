"""Webhook fan-out: stance changes to subscribers on a local receiver, in three modes.

Run: ``python -m tests.benchmarks.bench_webhooks [--backend sqlite|postgresql|both]
[--mode drain|paced|unpaced|all] [--changes 10000] [--subscribers 10] [--concurrency 32]
[--rate 10] [--profile-worker FILE]``.

Three processes, so that each one's CPU is its own:

- the writer (this process) records statements through the command bus, each followed by the
  projector catch-up that writes the outbox, as ``stance serve`` does;
- the delivery worker (a child process, ``DeliveryWorker`` with the service's settings) sends
  what the outbox holds. On PostgreSQL it is woken the way a fleet's worker is, by the outbox's
  NOTIFY through ``PgListener``; on SQLite, where the worker shares the writer's process in
  ``stance serve``, the writer wakes it through a pipe after every append;
- the receiver (a child process, a bare asyncio HTTP/1.1 keep-alive server) notes the
  ``webhook-id`` and arrival time of each message. A pure-Python HTTP stack (uvicorn on h11)
  would cost about what the worker does per message, and the figures would measure it.

Modes:

- ``drain``: ``--changes`` x ``--subscribers`` deliveries are queued first, then the worker starts;
  the time until the receiver has them all gives the worker's capacity in deliveries per second.
- ``paced``: the writer appends ``--rate`` changes per second (below capacity) while the worker
  runs; latency from append (the event's ``recorded_at``) to receipt, median, p95 and p99.
- ``unpaced``: the writer appends as fast as it can while the worker runs; throughput, and
  latency that includes whatever backlog builds up.

Every mode prints the load average when it starts and the worker process's CPU time per
delivery (user + system), which a busy machine inflates far less than the wall clock.
``--profile-worker FILE`` attaches py-spy (if installed) to the worker and writes its samples
to FILE in the "raw" (collapsed stacks) format.
"""

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import httpx
from sqlalchemy import select

from service.config import Settings
from service.db import Database
from service.domain.commands import DefineTopic, RecordStatement, RegisterActor
from service.domain.values import Source
from service.store.tables import events_table
from service.webhooks import subscriptions
from service.wiring import Services, build_services
from tests.benchmarks.common import free_port, fresh_engine, load_line, machine_line

SOURCE = Source("https://example.org/wire", "Wire report", "Example Wire", None)
BASE = datetime(2015, 1, 1, tzinfo=UTC)
STANCES = ("supports", "opposes", "neutral", "leans_supports", "leans_opposes")
MODES = ("drain", "paced", "unpaced")
FILL_CATCH_UP_EVERY = 100  # drain mode queues its backlog in projector batches of this many


# --- the receiver process -------------------------------------------------------------------


class _ReceiverProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server: enough for POSTs with Content-Length, and cheap."""

    def __init__(self, received: list[tuple[str, int, float]]) -> None:
        self.received = received
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])
            }
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self._answer(head[0], headers, body)

    def _answer(self, request_line: str, headers: dict[str, str], body: bytes) -> None:
        method, path, _ = request_line.split(" ", 2)
        if method == "POST":
            position = json.loads(body)["data"]["position"]
            self.received.append((headers["webhook-id"], position, time.time()))
            answer = b""
        elif path == "/count":
            answer = str(len(self.received)).encode()
        else:
            answer = json.dumps(self.received).encode()
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer)
        )


def run_receiver(port: int) -> None:
    """Note (webhook-id, position, arrival time) of each POST; GET /count and /dump report."""
    received: list[tuple[str, int, float]] = []

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _ReceiverProtocol(received), "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(serve())


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", __spec__.name, "--serve-receiver", str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{url}/count", timeout=1)
            return process, url
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.05)


def received_count(receiver_url: str) -> int:
    return int(httpx.get(f"{receiver_url}/count", timeout=10).text)


# --- the worker process ---------------------------------------------------------------------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _main_thread_cpu_seconds() -> tuple[float, float]:
    """User and system CPU of the event loop's thread alone (Linux), so the rest is the database
    threads'; the system part is mostly the kernel's work for the sockets (a loopback ``send``
    also runs the receiving side of TCP)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return float("nan"), float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


async def _serve_worker(database_url: str, concurrency: int) -> None:
    """A delivery worker until stdin says ``stop``; any other line wakes it, like ``wake()``.

    Prints one JSON line when it stops: the CPU seconds this process spent while the worker ran.
    """
    from service.pg_listener import PgListener
    from service.signals import Purpose
    from service.webhooks.worker import DeliveryWorker, build_delivery_client

    settings = Settings(
        database_url=database_url, allow_private_urls=True, webhook_concurrency=concurrency
    )
    database = Database.from_settings(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    async with build_delivery_client(settings) as client:
        worker = DeliveryWorker(database, client, settings)
        listener = None
        if not database.is_sqlite:
            listener = PgListener(database_url)
            listener.on(Purpose.OUTBOX, lambda _payload: worker.wake())

        def read_commands() -> None:
            for line in sys.stdin:
                if line.strip() == "stop":
                    break
                worker.wake()
            loop.call_soon_threadsafe(stop.set)

        cpu_started, loop_cpu_started = _cpu_seconds(), _main_thread_cpu_seconds()
        await worker.start()
        if listener is not None:
            listener.start()
        threading.Thread(target=read_commands, daemon=True).start()
        print(json.dumps({"ready": True}), flush=True)
        await stop.wait()
        if listener is not None:
            await asyncio.to_thread(listener.stop)
        await worker.stop()
        cpu = _cpu_seconds() - cpu_started
        loop_user, loop_system = (
            end - start
            for end, start in zip(_main_thread_cpu_seconds(), loop_cpu_started, strict=True)
        )
    database.dispose()
    report = {"cpu_seconds": cpu, "loop_cpu_seconds": loop_user + loop_system}
    print(json.dumps({**report, "loop_system_seconds": loop_system}), flush=True)


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


class WorkerProcess:
    """The delivery worker in a child process, woken and stopped through its stdin."""

    def __init__(
        self, database_url: str, concurrency: int, *, profile: str | None, loop: str
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", __spec__.name, "--serve-worker", database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={
                **os.environ,
                "BENCH_WORKER_CONCURRENCY": str(concurrency),
                "BENCH_WORKER_LOOP": loop,
            },
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin: IO[bytes] = self.process.stdin
        self._lock = threading.Lock()
        pid = self.process.pid
        assert json.loads(self.process.stdout.readline())["ready"]
        if profile:
            # py-spy attached from outside: the sampling costs the worker nothing it would count.
            subprocess.Popen(
                ["py-spy", "record", "-r", "250", "-f", "raw", "-o", profile, "--pid", str(pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def wake(self) -> None:
        with self._lock:
            self._stdin.write(b"\n")
            self._stdin.flush()

    def stop(self) -> tuple[float, float, float]:
        """Stop the worker; the CPU seconds it spent: in all, in its event loop's thread, and the
        system part of the latter."""
        with self._lock:
            self._stdin.write(b"stop\n")
            self._stdin.flush()
        assert self.process.stdout is not None
        report = json.loads(self.process.stdout.readline())
        self.process.wait(30)
        return (
            float(report["cpu_seconds"]),
            float(report["loop_cpu_seconds"]),
            float(report["loop_system_seconds"]),
        )


# --- the writer -----------------------------------------------------------------------------


@dataclass
class Scene:
    """A migrated database with actors, topics and subscriptions, and a receiver to send to."""

    services: Services
    database_url: str
    receiver_url: str
    pairs: list[tuple[str, str]]


def _set_up(database: Database, receiver_url: str, subscribers: int) -> Scene:
    services = build_services(Settings(), database)
    actors, topics = [f"actor-{n}" for n in range(10)], [f"topic-{n}" for n in range(10)]
    for actor in actors:
        services.bus.execute(RegisterActor(actor, actor, "person", "KZ"))
    for topic in topics:
        services.bus.execute(DefineTopic(topic, topic, f"{topic} is right"))
    with database.write() as session:
        for _ in range(subscribers):
            subscriptions.create_subscription(
                session.connection(),
                url=f"{receiver_url}/hook",
                description=None,
                actor_ids=None,
                topic_ids=None,
                flips_only=False,
                created_by="bench",
                now=datetime.now(UTC),
            )
    url = database.engine.url.render_as_string(hide_password=False)
    pairs = [(a, t) for a in actors for t in topics]
    return Scene(services, url, receiver_url, pairs)


def _statement(scene: Scene, n: int) -> RecordStatement:
    """The ``n``-th statement: every one changes its pair's stance."""
    actor, topic = scene.pairs[n % len(scene.pairs)]
    round_number = n // len(scene.pairs)
    return RecordStatement(
        statement_id=uuid.uuid4(),
        actor_id=actor,
        topic_id=topic,
        stance=STANCES[round_number % len(STANCES)],
        quote=f"statement {n}",
        stated_at=BASE + timedelta(days=round_number),
        kind="paraphrase",
        source=SOURCE,
        confidence=1.0,
    )


def _record(
    scene: Scene, first: int, count: int, *, rate: float, worker: WorkerProcess | None
) -> float:
    """Record ``count`` statements, each followed by the catch-up; seconds taken."""
    started = time.perf_counter()
    for n in range(count):
        scene.services.bus.execute(_statement(scene, first + n))
        if worker is not None and scene.services.database.is_sqlite:
            worker.wake()
        if rate:
            pause = started + (n + 1) / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    return time.perf_counter() - started


def _fill(scene: Scene, first: int, count: int) -> float:
    """Queue a backlog fast: appends without a catch-up each, projected every hundred."""
    bus, projector = scene.services.bus, scene.services.projector
    hooks = bus.after_write
    bus.after_write = []
    started = time.perf_counter()
    try:
        for n in range(count):
            bus.execute(_statement(scene, first + n))
            if n % FILL_CATCH_UP_EVERY == FILL_CATCH_UP_EVERY - 1:
                projector.catch_up()
        projector.catch_up()
    finally:
        bus.after_write = hooks
    return time.perf_counter() - started


def _wait_for(receiver_url: str, expected: int, *, timeout: float) -> float:
    """Poll the receiver until it has ``expected`` messages; when (``time.time``) it had them."""
    deadline = time.monotonic() + timeout
    while received_count(receiver_url) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the receiver has {received_count(receiver_url)} of {expected}")
        time.sleep(0.1)
    return time.time()


@dataclass(frozen=True)
class Outcome:
    mode: str
    changes: int
    subscribers: int
    rate: float
    append_seconds: float
    deliver_seconds: float
    worker_cpu_seconds: float
    loop_cpu_seconds: float
    loop_system_seconds: float
    arrivals: list[list[Any]]
    recorded: dict[int, datetime]
    load: str


def run_mode(mode: str, backend: str, args: argparse.Namespace, receiver_url: str) -> Outcome:
    with fresh_engine(backend) as engine:
        database = Database(engine)
        scene = _set_up(database, receiver_url, args.subscribers)
        already = received_count(receiver_url)
        expected = already + args.changes * args.subscribers
        load = load_line()
        if mode == "drain":
            append_seconds = _fill(scene, 0, args.changes)
            load = load_line()
            worker = WorkerProcess(
                scene.database_url,
                args.concurrency,
                profile=args.profile_worker,
                loop=args.worker_loop,
            )
            started = time.time()
            worker.wake()
            finished = _wait_for(receiver_url, expected, timeout=3600)
        else:
            worker = WorkerProcess(
                scene.database_url,
                args.concurrency,
                profile=args.profile_worker,
                loop=args.worker_loop,
            )
            started = time.time()
            rate = args.rate if mode == "paced" else 0.0
            append_seconds = _record(scene, 0, args.changes, rate=rate, worker=worker)
            finished = _wait_for(receiver_url, expected, timeout=3600)
        worker_cpu, loop_cpu, loop_system = worker.stop()
        arrivals = httpx.get(f"{receiver_url}/dump", timeout=120).json()[already:]
        with database.read() as session:
            query = select(events_table.c.position, events_table.c.recorded_at)
            recorded = {
                row.position: row.recorded_at for row in session.connection().execute(query)
            }
    return Outcome(
        mode=mode,
        changes=args.changes,
        subscribers=args.subscribers,
        rate=args.rate if mode == "paced" else 0.0,
        append_seconds=append_seconds,
        deliver_seconds=finished - started,
        worker_cpu_seconds=worker_cpu,
        loop_cpu_seconds=loop_cpu,
        loop_system_seconds=loop_system,
        arrivals=arrivals,
        recorded=recorded,
        load=load,
    )


def report(backend: str, outcome: Outcome) -> None:
    arrivals = outcome.arrivals
    unique = {msg_id for msg_id, _, _ in arrivals}
    deliveries = len(arrivals)
    print(
        f"\n{backend}, {outcome.mode}: {outcome.changes:,} changes x {outcome.subscribers} "
        f"subscribers"
        + (f", appended at {outcome.rate:g} changes/s" if outcome.mode == "paced" else "")
    )
    print(f"  {outcome.load}")
    print(
        f"  appended: {outcome.changes / outcome.append_seconds:,.0f} changes/s "
        f"({outcome.append_seconds:.1f} s)"
        + (" (queued before the worker started)" if outcome.mode == "drain" else "")
    )
    print(
        f"  delivered: {len(unique):,} messages ({deliveries - len(unique)} duplicates) in "
        f"{outcome.deliver_seconds:.1f} s: {deliveries / outcome.deliver_seconds:,.0f} "
        f"deliveries/s"
    )
    per_delivery = outcome.worker_cpu_seconds / deliveries * 1e6
    loop_share = outcome.loop_cpu_seconds / deliveries * 1e6
    loop_system = outcome.loop_system_seconds / deliveries * 1e6
    print(
        f"  worker CPU: {per_delivery:,.0f} us per delivery ({outcome.worker_cpu_seconds:.1f} s): "
        f"event loop {loop_share:,.0f} us ({loop_system:,.0f} us of it system), "
        f"database threads {per_delivery - loop_share:,.0f} us"
    )
    if outcome.mode != "drain":
        latencies = sorted(
            (at - outcome.recorded[position].timestamp()) * 1000 for _, position, at in arrivals
        )
        cuts = statistics.quantiles(latencies, n=100)
        print(
            f"  append -> receipt: median {statistics.median(latencies):,.0f} ms, "
            f"p95 {cuts[94]:,.0f} ms, p99 {cuts[98]:,.0f} ms, max {latencies[-1]:,.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--mode", choices=[*MODES, "all"], default="all")
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=Settings().webhook_concurrency)
    parser.add_argument(
        "--rate", type=float, default=10.0, help="changes per second in the paced mode"
    )
    parser.add_argument(
        "--profile-worker", metavar="FILE", help="sample the worker with py-spy into FILE"
    )
    parser.add_argument(
        "--worker-loop",
        choices=["asyncio", "uvloop"],
        default="asyncio",
        help="the worker's event loop (stance serve and the worker process run on uvloop)",
    )
    parser.add_argument("--serve-receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        run_receiver(args.serve_receiver)
        return
    if args.serve_worker:
        concurrency = int(os.environ["BENCH_WORKER_CONCURRENCY"])
        with asyncio.Runner(loop_factory=_loop_factory(os.environ["BENCH_WORKER_LOOP"])) as runner:
            runner.run(_serve_worker(args.serve_worker, concurrency))
        return
    print(machine_line())
    receiver, url = start_receiver()
    try:
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        modes = MODES if args.mode == "all" else (args.mode,)
        for backend in backends:
            for mode in modes:
                report(backend, run_mode(mode, backend, args, url))
    finally:
        receiver.terminate()
        receiver.wait(10)


if __name__ == "__main__":
    main()
