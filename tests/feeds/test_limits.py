"""HostLimiter keeps both the global and the per-host number of fetches in bounds."""

import asyncio
from collections import Counter

import pytest

from service.feeds.limits import HostLimiter

pytestmark = pytest.mark.anyio


async def test_limits_hold_globally_and_per_host():
    limiter = HostLimiter(total=4, per_host=2)
    active: Counter[str] = Counter()
    peaks = {"total": 0, "host": 0}

    async def work(url: str, host: str) -> None:
        async with limiter.slot(url):
            active[host] += 1
            peaks["total"] = max(peaks["total"], sum(active.values()))
            peaks["host"] = max(peaks["host"], max(active.values()))
            await asyncio.sleep(0.01)
            active[host] -= 1

    urls = [(f"http://host{n % 3}.example/{n}", f"host{n % 3}") for n in range(30)]
    await asyncio.gather(*(work(url, host) for url, host in urls))
    assert peaks == {"total": 4, "host": 2}
    assert limiter._hosts == {}  # idle hosts are forgotten


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        HostLimiter(total=0, per_host=1)
