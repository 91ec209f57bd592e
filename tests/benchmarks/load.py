"""HTTP load from outside the server's process: wrk when installed, else Python worker processes.

A load generator in the server's own process (or on its event loop) measures itself as much as
the server. ``wrk`` (``apt-get install wrk``) is a small C program; its Lua hooks vary the
request (a date per request, a POST body). The fallback runs one process per core, each with
threads holding a keep-alive connection, which is slower than wrk and says so in its label.

Each run also reads the server's CPU time from ``/proc`` (Linux), so the cost per request can be
compared on a noisy machine where requests per second move with the neighbours' load.
"""

import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from http.client import HTTPConnection
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    """What every request of a scenario sends; ``dates`` puts one of them in ``as_of``."""

    path: str
    method: str = "GET"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    dates: tuple[str, ...] = ()
    """Cycled through in order; with ``random_dates`` a new random date per request instead."""
    random_dates: bool = False
    bodies: tuple[bytes, ...] = ()
    """Request bodies cycled through in order (instead of ``body``)."""


@dataclass(frozen=True)
class LoadResult:
    generator: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    server_cpu_us: float | None
    """Server CPU time (user + system) per request; None where ``/proc`` is not there."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(
    base: str, request: Request, *, seconds: float, connections: int, server_pid: int
) -> LoadResult:
    """Load ``base`` with ``request`` for ``seconds`` over ``connections`` kept-alive sockets."""
    generate = _wrk if shutil.which("wrk") else _python_load
    cpu_before = _cpu_seconds(server_pid)
    result = generate(base, request, seconds=seconds, connections=connections)
    cpu_after = _cpu_seconds(server_pid)
    if cpu_before is not None and cpu_after is not None and result.requests:
        cpu = 1e6 * (cpu_after - cpu_before) / result.requests
        result = LoadResult(**{**result.__dict__, "server_cpu_us": cpu})
    return result


# --- wrk ------------------------------------------------------------------------------------

_LUA = """
local method, path, body = %(method)s, %(path)s, %(body)s
local dates, random_dates, n = {%(dates)s}, %(random)s, 0
local bodies, m = {%(bodies)s}, 0
wrk.method = method
wrk.body = body
%(headers)s
math.randomseed(%(seed)d)
request = function()
  local target = path
  if random_dates then
    local t = 1262304000 + math.random(0, 13 * 365 * 86400)
    target = path .. os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", t)
  elseif #dates > 0 then
    n = n %% #dates + 1
    target = path .. dates[n]
  end
  if #bodies > 0 then
    m = m %% #bodies + 1
    return wrk.format(nil, target, nil, bodies[m])
  end
  return wrk.format(nil, target)
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _wrk_script(request: Request) -> str:
    headers = "\n".join(
        f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}"
        for name, value in request.headers
    )
    return _LUA % {
        "method": _lua_string(request.method),
        "path": _lua_string(request.path),
        "body": _lua_string(request.body.decode()) if request.body else "nil",
        "dates": ", ".join(_lua_string(d) for d in request.dates),
        "bodies": ", ".join(_lua_string(b.decode()) for b in request.bodies),
        "random": "true" if request.random_dates else "false",
        "headers": headers,
        "seed": random.randrange(1 << 30),
    }


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def _wrk(base: str, request: Request, *, seconds: float, connections: int) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_wrk_script(request))
    try:
        finished = subprocess.run(
            [
                "wrk",
                "--threads",
                "1",
                "--connections",
                str(connections),
                "--duration",
                f"{seconds:.0f}s",
                "--timeout",
                "10s",
                "--latency",
                "--script",
                script.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    if finished.stderr.strip():  # a Lua error: wrk would go on sending its default request
        raise RuntimeError(f"wrk: {finished.stderr.strip()}")
    output = finished.stdout
    cuts = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    assert total is not None and len(cuts) == 3, output
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    failures = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (int(bad.group(1)) if bad else 0) + (
        sum(int(g) for g in failures.groups()) if failures else 0
    )
    return LoadResult(
        generator="wrk, 1 thread",
        requests=int(total.group(1)),
        errors=errors,
        seconds=_milliseconds(total.group(2) + total.group(3)) / 1000,
        p50_ms=_milliseconds(cuts["50"]),
        p90_ms=_milliseconds(cuts["90"]),
        p99_ms=_milliseconds(cuts["99"]),
        server_cpu_us=None,
    )


# --- the fallback: Python worker processes --------------------------------------------------


def _random_date(rng: random.Random) -> str:
    moment = 1262304000 + rng.randrange(13 * 365 * 86400)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def _worker(
    base: str, request: Request, seconds: float, threads: int, out: "multiprocessing.Queue[object]"
) -> None:
    address = urlsplit(base)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def user(seed: int) -> None:
        rng, n, m = random.Random(seed), 0, seed
        connection = HTTPConnection(address.hostname, address.port, timeout=10)
        mine: list[float] = []
        bad = 0
        headers = dict(request.headers)
        while time.perf_counter() < stop_at:
            target = request.path
            if request.random_dates:
                target += _random_date(rng)
            elif request.dates:
                target += request.dates[n % len(request.dates)]
                n += 1
            body = request.body or None
            if request.bodies:
                body, m = request.bodies[m % len(request.bodies)], m + 1
            started = time.perf_counter()
            connection.request(request.method, target, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            bad += response.status >= 400
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    workers = [threading.Thread(target=user, args=(os.getpid() * 100 + t,)) for t in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    out.put((latencies, errors[0]))


def _python_load(base: str, request: Request, *, seconds: float, connections: int) -> LoadResult:
    processes = max(1, min(connections, os.cpu_count() or 1))
    per_process = [
        connections // processes + (n < connections % processes) for n in range(processes)
    ]
    queue: multiprocessing.Queue[object] = multiprocessing.Queue()
    started = time.perf_counter()
    workers = [
        multiprocessing.Process(target=_worker, args=(base, request, seconds, n, queue))
        for n in per_process
    ]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(x for got, _ in results for x in got)  # type: ignore[attr-defined]
    cuts = statistics.quantiles(latencies, n=100)
    return LoadResult(
        generator=f"Python, {processes} processes",
        requests=len(latencies),
        errors=sum(bad for _, bad in results),  # type: ignore[misc]
        seconds=elapsed,
        p50_ms=1000 * cuts[49],
        p90_ms=1000 * cuts[89],
        p99_ms=1000 * cuts[98],
        server_cpu_us=None,
    )
