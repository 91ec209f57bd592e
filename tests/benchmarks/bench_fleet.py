"""The fleet on PostgreSQL: 1, 2 and 4 API processes (``stance serve --no-worker``) and two
workers (``stance worker``) on one database.

For each fleet size it prints, from out-of-process load (``wrk``, one instance per API process,
the connections split between them; POST bodies made by a Lua script):
- requests/s and latency percentiles of ``GET /v1/stances`` (the 10 x 10 matrix);
- requests/s and latency percentiles of ``POST /v1/statements`` (each a new statement);
- append-to-webhook latency: from an event's ``recorded_at`` (the database clock, in the append
  transaction) to the moment a local receiver got its ``stance.changed`` message, for statements
  posted at a steady rate that each change a stance. With ``--no-listen`` the processes run with
  ``STANCE_PG_LISTEN=false`` and are woken by their polls only (the workers' 1 s default), which
  is the comparison for the LISTEN/NOTIFY wake-up.

The database is created on the PostgreSQL at ``STANCE_BENCH_POSTGRES_URL`` (default the local
server) and dropped at the end.

    .venv/bin/python -m tests.benchmarks.bench_fleet [--apis 1 2 4] [--seconds 10] [--runs 3]
"""

import argparse
import random
import re
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from sqlalchemy import text

from service.auth.registry import create_key
from service.db import Database, create_db_engine
from service.store import migrate
from service.webhooks.subscriptions import create_subscription
from tests.benchmarks.common import load_line, machine_line, postgres_admin_url
from tests.fleet.cluster import free_port
from tests.fleet.kit import (
    StanceProcess,
    record_command,
    seed_catalog,
    stance_env,
    statement_body,
    wait_ready,
)
from tests.integration.helpers import services_for

WRK = "/usr/bin/wrk"
WORKERS = 2
LUA_POST = """
local stances = {"opposes", "leans_opposes", "neutral", "leans_supports", "supports"}
local counter = 0
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local function uuid4()
  local template = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  return (string.gsub(template, "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"statement_id":"%s","actor_id":"actor-%d","topic_id":"topic-%d","stance":"%s",' ..
    '"quote":"A position, stated.","stated_at":"2022-%02d-%02dT00:00:00Z",' ..
    '"kind":"direct_quote","source":{"url":"https://news.example.org/a",' ..
    '"title":"A report","publisher":"Example"}}',
    uuid4(), math.random(0, 9), math.random(0, 9), stances[math.random(1, 5)],
    math.random(1, 12), math.random(1, 28))
  return wrk.format("POST", "/v1/statements",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer KEY"}, body)
end
"""


@contextmanager
def bench_database() -> Iterator[str]:
    admin = postgres_admin_url()
    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"stance_bench_fleet_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


class Receiver:
    """Notes when each stance.changed message (by position) arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                arrived = time.time()
                receiver.arrivals.setdefault(orjson.loads(body)["data"]["position"], arrived)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wrk(urls: list[str], *, seconds: float, connections: int, script: Path | None) -> dict:
    """One wrk per URL at once; the summed rate and the worst instance's percentiles."""
    per = max(1, connections // len(urls))
    commands = [
        [
            WRK,
            "--threads",
            "1",
            "--connections",
            str(per),
            "--duration",
            f"{seconds:.0f}s",
            "--timeout",
            "10s",
            "--latency",
            *(["--script", str(script)] if script else []),
            url,
        ]
        for url in urls
    ]
    runs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in commands]
    outputs = [run.communicate()[0] for run in runs]
    rate = sum(float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1)) for o in outputs)
    errors = sum(int(m.group(1)) for o in outputs if (m := re.search(r"Non-2xx.*?(\d+)", o)))
    errors += sum(
        sum(int(n) for n in m.groups())
        for o in outputs
        if (m := re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", o))
    )

    def percentile(label: str) -> float:
        values = []
        for output in outputs:
            found = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)\b", output)
            value, unit = float(found.group(1)), found.group(2)
            values.append(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value)
        return max(values)

    return {"rate": rate, "p50": percentile("50"), "p99": percentile("99"), "errors": errors}


def webhook_latency(
    bases: list[str], key: str, database: Database, receiver: Receiver, *, count: int, rate: float
) -> list[float]:
    """Post ``count`` stance changes at ``rate``/s; seconds from recorded_at to arrival."""
    positions: list[int] = []
    headers = {"Authorization": f"Bearer {key}"}
    start = datetime.now(UTC) - timedelta(seconds=count + 60)  # in the past, each the latest
    with httpx.Client(timeout=30) as client:
        for n in range(count):
            body = {
                "actor_id": f"actor-{n % 10}",
                "topic_id": "topic-9",
                "stance": "supports" if (n // 10) % 2 else "opposes",
                "quote": "A change.",
                "stated_at": (start + timedelta(seconds=n)).isoformat(),
                "kind": "direct_quote",
                "source": {"url": "https://news.example.org/a", "title": "A", "publisher": "B"},
            }
            answer = client.post(
                f"{bases[n % len(bases)]}/v1/statements", json=body, headers=headers
            )
            answer.raise_for_status()
            positions.append(answer.json()["position"])
            time.sleep(1 / rate)
    deadline = time.monotonic() + 60
    while not set(positions) <= set(receiver.arrivals) and time.monotonic() < deadline:
        time.sleep(0.1)
    with database.read() as session:
        recorded = dict(
            session.execute(
                text("SELECT position, recorded_at FROM events WHERE position = ANY(:p)"),
                {"p": positions},
            ).all()
        )
    return [
        receiver.arrivals[p] - recorded[p].timestamp() for p in positions if p in receiver.arrivals
    ]


def run_fleet(apis: int, *, seconds: float, connections: int, listen: bool) -> dict[str, Any]:
    with bench_database() as url, tempfile.TemporaryDirectory() as scratch:
        engine = create_db_engine(url)
        migrate.upgrade(engine)
        database = Database(engine)
        services = services_for(database)
        seed_catalog(services.bus, actors=10, topics=10)
        rng = random.Random(7)
        for _ in range(1000):  # a matrix to read: every pair has a stance
            services.bus.execute(record_command(statement_body(rng, actors=10, topics=10)))
        receiver = Receiver()
        with database.write() as session:
            key = create_key(session, name="bench", can_write=True).key
            create_subscription(
                session.connection(),
                url=receiver.url,
                description="bench",
                actor_ids=None,
                topic_ids=["topic-9"],
                flips_only=False,
                created_by="bench",
                now=datetime.now(UTC),
            )
        env = stance_env(
            url,
            allow_private_urls="true",
            log_level="warning",
            pg_listen="true" if listen else "false",
        )
        ports = [free_port() for _ in range(apis)]
        processes = [
            StanceProcess(
                ["serve", "--no-worker", "--port", str(p)], env, Path(scratch) / f"api{p}.log"
            )
            for p in ports
        ] + [StanceProcess(["worker"], env, Path(scratch) / f"w{n}.log") for n in range(WORKERS)]
        try:
            for process in processes:
                process.start()
            bases = [f"http://127.0.0.1:{p}" for p in ports]
            for base in bases:
                wait_ready(base)
            script = Path(scratch) / "post.lua"
            script.write_text(LUA_POST.replace("KEY", key))
            result = {
                "load": load_line(),
                "get": wrk(
                    [f"{b}/v1/stances" for b in bases],
                    seconds=seconds,
                    connections=connections,
                    script=None,
                ),
                "post": wrk(bases, seconds=seconds, connections=connections, script=script),
                "webhook": webhook_latency(bases, key, database, receiver, count=150, rate=15),
            }
        finally:
            for process in processes:
                process.stop()
            engine.dispose()
    return result


def _quantiles(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100)
    return (
        f"p50 {1000 * cuts[49]:.0f} ms, p95 {1000 * cuts[94]:.0f} ms, "
        f"p99 {1000 * cuts[98]:.0f} ms, max {1000 * max(values):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apis", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-listen", action="store_true", help="STANCE_PG_LISTEN=false")
    args = parser.parse_args()
    print(machine_line())
    print(
        f"PostgreSQL at {postgres_admin_url().rsplit('@', 1)[-1]}; {WORKERS} workers; "
        f"wrk {args.connections} connections split over the APIs, {args.seconds:.0f} s each; "
        f"LISTEN/NOTIFY {'off' if args.no_listen else 'on'}; medians of {args.runs} runs"
    )
    for apis in args.apis:
        results = [
            run_fleet(
                apis, seconds=args.seconds, connections=args.connections, listen=not args.no_listen
            )
            for _ in range(args.runs)
        ]
        print(f"\n{apis} API process(es)  [{'; '.join(r['load'] for r in results)}]")
        for name, label in (("get", "GET /v1/stances"), ("post", "POST /v1/statements")):
            rates = [r[name]["rate"] for r in results]
            print(
                f"  {label}: {statistics.median(rates):,.0f} requests/s "
                f"(runs {', '.join(f'{x:,.0f}' for x in rates)}), "
                f"p50 {statistics.median(r[name]['p50'] for r in results):.1f} ms, "
                f"p99 {statistics.median(r[name]['p99'] for r in results):.1f} ms, "
                f"{sum(r[name]['errors'] for r in results)} errors"
            )
        latencies = [x for r in results for x in r["webhook"]]
        print(
            f"  append -> webhook received ({len(latencies)} changes at 15/s): "
            f"{_quantiles(latencies)}"
        )


if __name__ == "__main__":
    main()
