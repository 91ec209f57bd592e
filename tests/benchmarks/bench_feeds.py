"""Feed polling throughput: one cycle over 500 local feeds, unchanged (304) and changed; and
extraction throughput.

Run: ``python -m tests.benchmarks.bench_feeds [--feeds 500] [--concurrency 50] [--runs 5]``.
The feeds are served by one uvicorn process (a Starlette app in a thread) on 127.0.0.1 that
honours If-None-Match; a "changed" cycle bumps every feed's version first, so each poll is a 200
with a new body that is parsed. Prints the machine, then the median of several runs.
"""

import argparse
import asyncio
import socket
import statistics
import threading
import time
from datetime import UTC, datetime

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.feeds.extract import ExtractionCatalog, extract_statements
from service.feeds.fetch import FetchStatus, fetch
from service.feeds.limits import HostLimiter
from service.feeds.parse import parse_feed
from tests.benchmarks.common import machine_line
from tests.benchmarks.eval_extraction import load, to_item

USER_AGENT = "StanceTracker-bench/1.0"
_ITEM = (
    "<item><guid>{feed}-{version}-{n}</guid><link>https://example.org/{feed}/{n}</link>"
    "<title>Item {n}</title><description>Lukashenko said on day {version} that Belarus "
    "would not send troops to Ukraine.</description></item>"
)


class FeedSite:
    """The feeds' content: every feed has a version; its ETag and items follow the version."""

    def __init__(self) -> None:
        self.version = 1

    async def feed(self, request: Request) -> Response:
        number = request.path_params["number"]
        etag = f'"{number}-{self.version}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        items = "".join(_ITEM.format(feed=number, version=self.version, n=n) for n in range(10))
        body = f"<rss version='2.0'><channel><title>Feed {number}</title>{items}</channel></rss>"
        return Response(body, media_type="application/rss+xml", headers={"ETag": etag})


def serve(site: FeedSite) -> tuple[uvicorn.Server, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = Starlette(routes=[Route("/feeds/{number:int}", site.feed)])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{port}"


async def cycle(
    client: httpx.AsyncClient, urls: list[str], etags: dict[str, str | None], concurrency: int
) -> tuple[float, dict[FetchStatus, int], int]:
    """Poll every feed once; returns the seconds taken, statuses, and items parsed."""
    limiter = HostLimiter(total=concurrency, per_host=concurrency)
    statuses: dict[FetchStatus, int] = {}
    parsed_items = 0

    async def poll(url: str) -> None:
        nonlocal parsed_items
        async with limiter.slot(url):
            result = await fetch(client, url, user_agent=USER_AGENT, etag=etags.get(url))
        statuses[result.status] = statuses.get(result.status, 0) + 1
        if result.status is FetchStatus.OK:
            etags[url] = result.etag
            parsed_items += len(parse_feed(result.body, content_type=result.content_type).items)

    started = time.perf_counter()
    await asyncio.gather(*(poll(url) for url in urls))
    return time.perf_counter() - started, statuses, parsed_items


async def bench_polling(feeds: int, concurrency: int, runs: int) -> None:
    site = FeedSite()
    server, base = serve(site)
    urls = [f"{base}/feeds/{n}" for n in range(feeds)]
    etags: dict[str, str | None] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        async with httpx.AsyncClient(limits=limits) as client:
            await cycle(client, urls, etags, concurrency)  # warm up: first poll of every feed
            unchanged, changed = [], []
            for _ in range(runs):
                seconds, statuses, _ = await cycle(client, urls, etags, concurrency)
                assert statuses == {FetchStatus.NOT_MODIFIED: feeds}, statuses
                unchanged.append(seconds)
                site.version += 1
                seconds, statuses, items = await cycle(client, urls, etags, concurrency)
                assert statuses == {FetchStatus.OK: feeds} and items == feeds * 10, statuses
                changed.append(seconds)
    finally:
        server.should_exit = True
    print(f"\npoll cycle: {feeds} feeds, concurrency {concurrency}, {runs} runs")
    _report("all unchanged (304)", unchanged, feeds)
    _report("all changed (200, parsed, 10 items)", changed, feeds)


def bench_extraction(runs: int, repeat: int = 20) -> None:
    catalog = ExtractionCatalog.demo()
    items = [(to_item(record), record["feed_title"]) for record in load()] * repeat
    observed = datetime(2030, 1, 1, tzinfo=UTC)
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for item, publisher in items:
            extract_statements(
                item, catalog=catalog, feed_id="bench", publisher=publisher, observed_at=observed
            )
        rates.append(len(items) / (time.perf_counter() - started))
    print(f"\nextraction: {len(items)} labelled items (demo catalog) x {runs} runs")
    print(
        f"  median {statistics.median(rates):,.0f} items/s   "
        f"runs: {', '.join(f'{r:,.0f}' for r in rates)}"
    )


def _report(name: str, seconds: list[float], feeds: int) -> None:
    median = statistics.median(seconds)
    print(
        f"  {name}: median {median * 1000:,.0f} ms per cycle ({feeds / median:,.0f} feeds/s)   "
        f"runs: {', '.join(f'{s * 1000:,.0f}' for s in seconds)} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine_line())
    asyncio.run(bench_polling(args.feeds, args.concurrency, args.runs))
    bench_extraction(args.runs)


if __name__ == "__main__":
    main()
