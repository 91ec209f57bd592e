"""The whole poll cycle through ``FeedPoller``: 500 local feeds, claims, fetch, parse, extraction,
appends through the command bus (with the projector catching up), feed state, on a database.

Run: ``python -m tests.benchmarks.bench_poller [--feeds 500] [--backend sqlite|postgresql|both]
[--runs 3]``. The demo catalog is registered first, so extraction finds statements. Each feed
keeps its 10 latest items and honours If-None-Match. Cycles, each timed from claim to last
feed recorded:

- first: every feed new, 10 items each, every item a statement (the cost of adding 500 feeds);
- unchanged: every feed answers 304 (the steady state; target under 5 s);
- changed: every feed has one new item that reports a statement (a busy news hour).

Before each cycle every feed is made due (its ``next_poll_at`` set to now); that update is not
timed.
"""

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.db import Database
from service.demo.catalog import ACTORS, TOPICS
from service.feeds.options import build_feed_client
from service.feeds.poller import FeedPoller
from service.feeds.registry import add_feed
from service.store.feed_tables import feeds_table
from service.wiring import build_services
from tests.benchmarks.common import fresh_engine, machine_line
from tests.feeds.conftest import feed_settings

_ITEM = (
    "<item><guid>{feed}-{n}</guid><link>https://example.org/{feed}/{n}</link>"
    "<title>Item {n}</title><description>{text}</description></item>"
)
# Each reports one statement, on ten different (actor, topic) pairs: the projector's cost per
# statement grows with the statements already on its pair, so one pair for all would measure that.
_TEXTS = (
    "Lukashenko said Belarus refuses to send troops to Ukraine.",
    "Tokayev told reporters that Kazakhstan supports the territorial integrity of Ukraine.",
    "Putin told the Security Council that the war against Ukraine was justified.",
    "Lukashenko said on Monday that he condemns the war against Ukraine.",
    "Japarov told reporters Kyrgyzstan respects the territorial integrity of Ukraine.",
    "Pashinyan said Armenia wants better relations with Turkey.",
    "Mirziyoyev said Uzbekistan supports the territorial integrity of Ukraine.",
    "Rahmon said Tajikistan supports the territorial integrity of Ukraine.",
    "Lukashenko said Belarus would allow Russian military bases on its territory.",
    "Putin said Belarusian troops were not needed in Ukraine.",
)


class RollingSite:
    """Every feed shows its 10 latest items; the parent process publishes one more everywhere by
    incrementing ``latest`` (shared memory)."""

    def __init__(self, latest: Any) -> None:
        self.latest = latest

    async def feed(self, request: Request) -> Response:
        number, latest = request.path_params["number"], self.latest.value
        etag = f'"{number}-{latest}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        items = "".join(
            _ITEM.format(feed=number, n=n, text=_TEXTS[(number + n) % len(_TEXTS)])
            for n in range(latest, latest - 10, -1)
        )
        body = f"<rss version='2.0'><channel><title>Feed {number}</title>{items}</channel></rss>"
        return Response(body, media_type="application/rss+xml", headers={"ETag": etag})


def _run_site(port: int, latest: Any) -> None:
    app = Starlette(routes=[Route("/feeds/{number:int}", RollingSite(latest).feed)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


@contextmanager
def serve_elsewhere() -> Iterator[tuple[str, Any]]:
    """The feeds from another process, so its CPU is not charged to the poller's cycle."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    latest = context.Value("i", 10)
    process = context.Process(target=_run_site, args=(port, latest), daemon=True)
    process.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", latest
    finally:
        process.terminate()
        process.join(10)


def _make_all_due(database: Database) -> None:
    with database.write() as session:
        session.connection().execute(update(feeds_table).values(next_poll_at=datetime.now(UTC)))


async def _cycle(poller: FeedPoller, database: Database) -> tuple[float, dict[str, int], int]:
    _make_all_due(database)
    started = time.perf_counter()
    reports = await poller.poll_due()
    seconds = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    for report in reports:
        outcomes[report.outcome] = outcomes.get(report.outcome, 0) + 1
    return seconds, outcomes, sum(len(r.statements) for r in reports)


async def bench(backend: str, feeds: int, runs: int) -> None:
    settings = feed_settings(
        feed_concurrency=50, feed_per_host=50, feed_claim_batch=feeds, feed_timeout_seconds=20
    )
    with serve_elsewhere() as (base, latest), fresh_engine(backend) as engine:
        database = Database(engine)
        services = build_services(settings, database)
        for command in (*ACTORS, *TOPICS):
            services.bus.execute(command, metadata={"recorded_by": "bench"})
        now = datetime.now(UTC)
        for n in range(feeds):
            add_feed(
                database,
                url=f"{base}/feeds/{n}",
                kind="news",
                interval_seconds=900,
                name=f"Feed {n}",
                created_by="bench",
                now=now,
            )
        async with build_feed_client(settings) as client:
            poller = FeedPoller(services, client, settings)
            first = await _cycle(poller, database)
            unchanged, changed = [], []
            for _ in range(runs):
                unchanged.append(await _cycle(poller, database))
                latest.value += 1
                changed.append(await _cycle(poller, database))
    print(f"\n{backend}: {feeds} feeds, concurrency 50, {runs} runs")
    _report("first poll (10 new items, 10 statements per feed)", [first])
    _report("unchanged (all 304)", unchanged)
    _report("changed (1 new item, 1 statement per feed)", changed)


def _report(name: str, cycles: list[tuple[float, dict[str, int], int]]) -> None:
    seconds = [c[0] for c in cycles]
    median = statistics.median(seconds)
    print(
        f"  {name}: median {median:,.2f} s per cycle   runs: "
        f"{', '.join(f'{s:,.2f}' for s in seconds)} s   outcomes {cycles[-1][1]}, "
        f"statements {cycles[-1][2]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(machine_line())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        asyncio.run(bench(backend, args.feeds, args.runs))


if __name__ == "__main__":
    main()
