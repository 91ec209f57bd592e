"""The projection benchmark still runs: a small log on both backends, every figure printed.

The benchmark reaches into the rebuild (``rebuild_floor`` stands a fold made beforehand in
for the real one), so a change of the replay's parts can break it while every test passes; it
is run here as a user runs it, on sizes that take seconds. It measures nothing here: what is
checked is that it ends well and prints each of its lines, with figures in them.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import postgres_url

ROOT = Path(__file__).resolve().parents[2]
_FIGURE = r"[\d,.]+"


def test_the_projection_benchmark_prints_its_figures_on_both_backends():
    environment = {**os.environ, "STANCE_BENCH_POSTGRES_URL": postgres_url()}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.bench_projections",
            "--backend",
            "both",
            "--actors",
            "6",
            "--topics",
            "4",
            "--statements",
            "400",
            "--runs",
            "3",
            "--rebuild-runs",
            "2",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    for backend in ("sqlite", "postgresql"):
        section = run.stdout.split(f"[{backend}]", 1)[1].split("\n[", 1)[0]
        assert "6 actors x 4 topics x 400 statements = 410 events" in section
        for line in (
            rf"projection rebuild: median {_FIGURE} events/s \(2 runs: ",
            rf"the database's share of a rebuild .*: median {_FIGURE} s \(2 runs: ",
            rf"as-of matrix \(as_of \+ known_at, \d+ cells\): median {_FIGURE} ms",
            rf"current matrix: median {_FIGURE} ms",
            rf"naive fold of the whole log for the same answer: {_FIGURE} s \(\d+ cells\)",
        ):
            assert re.search(line, section), f"{backend}: no line like {line!r} in\n{section}"
