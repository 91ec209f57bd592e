"""Webhook fan-out: 10,000 stance changes to 10 subscribers on a local receiver.

Run: ``python -m tests.benchmarks.bench_webhooks [--backend sqlite|postgresql|both]
[--changes 10000] [--subscribers 10] [--concurrency 32] [--rate 0]``.

Statements are recorded through the command bus in a writer thread, each followed by the
projector catch-up that writes the outbox (as in ``stance serve``) and a ``wake()`` of the
delivery worker, which runs on the main thread's event loop with the service's defaults. The
receiver is a separate process (a bare asyncio HTTP/1.1 server) that notes when each message
arrived. ``--rate`` paces the
writer (changes per second; 0 writes as fast as it can, so the latency includes the backlog).

Prints the machine, then per backend: how fast changes were appended, deliveries per second
(first append to last receipt), and the latency from append (the event's ``recorded_at``) to
receipt: median, 95th and 99th percentile.
"""

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from service.config import Settings
from service.db import Database
from service.domain.commands import DefineTopic, RecordStatement, RegisterActor
from service.domain.values import Source
from service.store.tables import events_table
from service.webhooks import subscriptions
from service.webhooks.worker import DeliveryWorker, build_delivery_client
from service.wiring import build_services
from tests.benchmarks.common import fresh_engine, machine_line

SOURCE = Source("https://example.org/wire", "Wire report", "Example Wire", None)
BASE = datetime(2015, 1, 1, tzinfo=UTC)
STANCES = ("supports", "opposes", "neutral", "leans_supports", "leans_opposes")


# --- the receiver process -------------------------------------------------------------------


class _ReceiverProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server: enough for POSTs with Content-Length, and fast.

    A pure-Python HTTP stack (uvicorn on h11) tops out near the worker's own rate on a small
    machine, and the benchmark would measure the receiver; this one does almost nothing per request.
    """

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
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


# --- the run --------------------------------------------------------------------------------


def _record_statements(
    services: Any,
    worker: DeliveryWorker,
    *,
    changes: int,
    pairs: list[tuple[str, str]],
    rate: float,
) -> float:
    """Record ``changes`` statements, each changing its pair's stance; returns the seconds taken."""
    started = time.perf_counter()
    for n in range(changes):
        actor, topic = pairs[n % len(pairs)]
        round_number = n // len(pairs)
        services.bus.execute(
            RecordStatement(
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
        )
        worker.wake()
        if rate:
            pause = started + (n + 1) / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    return time.perf_counter() - started


async def run(backend: str, args: argparse.Namespace, receiver_url: str) -> None:
    settings = Settings(allow_private_urls=True, webhook_concurrency=args.concurrency)
    with fresh_engine(backend) as engine:
        database = Database(engine)
        services = build_services(settings, database)
        actors, topics = [f"actor-{n}" for n in range(10)], [f"topic-{n}" for n in range(10)]
        for actor in actors:
            services.bus.execute(RegisterActor(actor, actor, "person", "KZ"))
        for topic in topics:
            services.bus.execute(DefineTopic(topic, topic, f"{topic} is right"))
        with database.write() as session:
            for _ in range(args.subscribers):
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
        already = int(httpx.get(f"{receiver_url}/count").text)
        pairs = [(a, t) for a in actors for t in topics]
        expected = args.changes * args.subscribers

        async with build_delivery_client(settings) as client:
            worker = DeliveryWorker(database, client, settings)
            await worker.start()
            first_append = time.time()
            writer = asyncio.create_task(
                asyncio.to_thread(
                    _record_statements,
                    services,
                    worker,
                    changes=args.changes,
                    pairs=pairs,
                    rate=args.rate,
                )
            )
            async with httpx.AsyncClient() as probe:
                while int((await probe.get(f"{receiver_url}/count")).text) - already < expected:
                    await asyncio.sleep(0.2)
            append_seconds = await writer
            await worker.stop()

        arrivals = httpx.get(f"{receiver_url}/dump", timeout=60).json()[already:]
        with database.read() as session:
            query = select(events_table.c.position, events_table.c.recorded_at)
            recorded = {
                row.position: row.recorded_at for row in session.connection().execute(query)
            }
    _report(backend, args, arrivals, recorded, first_append, append_seconds)


def _report(
    backend: str,
    args: argparse.Namespace,
    arrivals: list[list[Any]],
    recorded: dict[int, datetime],
    first_append: float,
    append_seconds: float,
) -> None:
    unique = {msg_id for msg_id, _, _ in arrivals}
    latencies = sorted((at - recorded[position].timestamp()) * 1000 for _, position, at in arrivals)
    last_receipt = max(at for _, _, at in arrivals)
    cuts = statistics.quantiles(latencies, n=100)
    pace = f"{args.rate:g}/s" if args.rate else "as fast as possible"
    print(f"\n{backend}: {args.changes} changes x {args.subscribers} subscribers, appends {pace}")
    print(f"  appended: {args.changes / append_seconds:,.0f} changes/s ({append_seconds:.1f} s)")
    print(
        f"  delivered: {len(unique):,} messages ({len(arrivals) - len(unique)} duplicates), "
        f"{len(arrivals) / (last_receipt - first_append):,.0f} deliveries/s"
    )
    print(
        f"  append -> receipt: median {statistics.median(latencies):,.0f} ms, "
        f"p95 {cuts[94]:,.0f} ms, p99 {cuts[98]:,.0f} ms, max {latencies[-1]:,.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=Settings().webhook_concurrency)
    parser.add_argument("--rate", type=float, default=0.0, help="changes per second; 0: no pacing")
    parser.add_argument("--serve-receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        run_receiver(args.serve_receiver)
        return
    print(machine_line())
    receiver, url = start_receiver()
    try:
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        for backend in backends:
            asyncio.run(run(backend, args, url))
    finally:
        receiver.terminate()
        receiver.wait(10)


if __name__ == "__main__":
    main()
