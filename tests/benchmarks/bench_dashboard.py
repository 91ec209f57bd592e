"""The dashboard's matrix page for 100 actors x 50 topics: the reads it makes, the server's time
to answer it, and a real browser's time to load it and to replay it with the date slider.

Run: ``python -m tests.benchmarks.bench_dashboard [--backend sqlite|postgresql|both]
[--actors 100 --topics 50 --statements 20000 --runs 7]``. The data set is made as
``bench_projections`` makes it; the server is ``stance serve --no-worker`` in its own process;
the browser is the system chromium (``/usr/bin/chromium``) driven by Playwright. Prints the
machine, the load, the backend, the sizes and medians of several runs.
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine

from service.api.times import parse_time
from service.config import Settings
from service.db import Database
from service.web.params import ReplayTimes
from service.web.reads import read_matrix
from service.web.routes.matrix import matrix_context
from service.web.templating import ENVIRONMENT
from service.wiring import build_services
from tests.benchmarks.bench_projections import populate
from tests.benchmarks.common import fresh_engine, load_line, machine_line, stance_server
from tests.e2e.browser import CHROMIUM, CHROMIUM_FLAGS
from tests.web.sql_counter import counting

REPLAY_AS_OF = "2022-01-01"  # seven years into the data set's ten
REPLAY_KNOWN_AT = "2100-01-01T00:00:00Z"  # given, so the transaction-time filter runs too


def _median_ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.0f} ms"


def _timed(runs: int, work: Callable[[], Any]) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return timings


def _timed_cpu(runs: int, work: Callable[[], Any]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each run: on a busy machine the CPU time says more."""
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


def _reads(engine: Engine, times: ReplayTimes) -> None:
    """The page's reads counted at the driver, and where its server time goes, in-process."""
    database = Database(engine)
    with counting(engine) as counter, database.read() as session:
        read_matrix(session.connection(), as_of=times.as_of, known_at=times.known_at)
    matrix_queries = len(counter.matrix_queries())
    print(
        f"    reads per page: {len(counter.statements)} statements, of which {matrix_queries} "
        "for the matrix (the rest: actors, topics, statement span, revisions)"
    )

    def load() -> Any:
        with database.read() as session:
            return read_matrix(session.connection(), as_of=times.as_of, known_at=times.known_at)

    reads = load()
    template = ENVIRONMENT.get_template("matrix.html")

    def render() -> str:
        return template.render(current_path="/", **matrix_context(reads, times))

    read_wall, read_cpu = _timed_cpu(7, load)
    render_wall, render_cpu = _timed_cpu(7, render)
    print(
        f"    in-process, medians of 7: reads {_median_ms(read_wall)} "
        f"(CPU {_median_ms(read_cpu)}), build + template {_median_ms(render_wall)} "
        f"(CPU {_median_ms(render_cpu)}); {len(reads.stances):,} cells with a stance, "
        f"{len(render()) / 1e6:.1f} MB of HTML"
    )


def _browser_load(page: Page, url: str) -> dict[str, float]:
    page.goto(url, wait_until="load")
    return page.evaluate(
        """() => {
            const n = performance.getEntriesByType("navigation")[0];
            const paint = performance.getEntriesByName("first-contentful-paint")[0];
            return {response: n.responseEnd - n.startTime,
                    painted: paint ? paint.startTime : NaN,
                    ready: n.domContentLoadedEventEnd - n.startTime,
                    load: n.loadEventEnd - n.startTime};
        }"""
    )


def _slider_replay(page: Page) -> float:
    """Milliseconds from a slider move to the matrix redrawn (the script's fetch and update)."""
    return page.evaluate(
        """() => new Promise((resolve) => {
            const slider = document.getElementById("as-of-slider");
            const table = document.getElementById("matrix");
            const started = performance.now();
            const seen = new MutationObserver(() => {
                if (!table.hasAttribute("aria-busy")) {
                    seen.disconnect();
                    resolve(performance.now() - started);
                }
            });
            seen.observe(table, {attributes: true, attributeFilter: ["aria-busy"]});
            slider.value = String(Math.max(0, Number(slider.value) - 40));
            slider.dispatchEvent(new Event("input", {bubbles: true}));
        })"""
    )


def run(backend: str, args: argparse.Namespace) -> None:
    with fresh_engine(backend) as engine:
        services = build_services(Settings(projector_batch_size=5000), Database(engine))
        started = time.perf_counter()
        populate(services, actors=args.actors, topics=args.topics, statements=args.statements)
        services.projector.catch_up()
        if backend == "postgresql":
            with engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        print(
            f"\n[{backend}] {args.actors} actors x {args.topics} topics x "
            f"{args.statements:,} statements (made in {time.perf_counter() - started:.0f} s)"
        )
        print(f"  {load_line()}")
        replay = ReplayTimes(
            REPLAY_AS_OF,
            REPLAY_KNOWN_AT,
            parse_time(REPLAY_AS_OF, field="as_of"),
            parse_time(REPLAY_KNOWN_AT, field="known_at"),
        )
        for label, times in (("now", ReplayTimes("", "", None, None)), ("replayed", replay)):
            print(f"  matrix page, {label}:")
            _reads(engine, times)
        url = engine.url.render_as_string(hide_password=False)
        with stance_server(url) as (base, _pid), httpx.Client(base_url=base, timeout=60) as http:
            pages = {"now": "/", "replayed": f"/?as_of={REPLAY_AS_OF}&known_at={REPLAY_KNOWN_AT}"}
            for label, path in pages.items():
                http.get(path)  # warm
                timings = _timed(args.runs, lambda path=path: http.get(path).raise_for_status())
                size = len(http.get(path).content)
                print(
                    f"  server, GET {label} page over HTTP: median {_median_ms(timings)} "
                    f"over {args.runs} runs ({size / 1e6:.1f} MB)"
                )
            _browser(base, pages, args.runs)


def _browser(base: str, pages: dict[str, str], runs: int) -> None:
    print(f"  {load_line()}")
    with sync_playwright() as driver, tempfile.TemporaryDirectory() as profile:
        context = driver.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        page = context.new_page()
        for label, path in pages.items():
            _browser_load(page, base + path)  # warm
            loads = [_browser_load(page, base + path) for _ in range(runs)]
            print(
                f"  browser (chromium {context.browser.version if context.browser else '?'}), "
                f"{label} page: response {statistics.median(x['response'] for x in loads):.0f} ms,"
                f" first paint {statistics.median(x['painted'] for x in loads):.0f} ms,"
                f" DOM ready {statistics.median(x['ready'] for x in loads):.0f} ms, "
                f"load {statistics.median(x['load'] for x in loads):.0f} ms "
                f"(medians of {runs})"
            )
        _browser_load(page, base + "/")
        replays = [_slider_replay(page) for _ in range(runs)]
        print(
            f"  browser, date slider moved: matrix redrawn in median "
            f"{statistics.median(replays):.0f} ms (one GET /v1/stances, {runs} moves)"
        )
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--actors", type=int, default=100)
    parser.add_argument("--topics", type=int, default=50)
    parser.add_argument("--statements", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(machine_line())
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        run(backend, args)


if __name__ == "__main__":
    main()
