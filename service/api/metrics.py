"""Prometheus metrics: HTTP traffic by route template, events appended, projector lag, and the
response cache's hits, misses and size.

Metrics live in the process-wide default registry (with the process and GC collectors), so the
command layer can count appends without a handle on the app: ``record_events_appended(n)``.
Labels use route templates (``/v1/stances/{actor}/{topic}``), never raw paths, so the number of
series stays bounded whatever clients request; paths no route matches share ``unmatched``.
"""

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

LagSource = Callable[[], int | float | Mapping[str, int | float]]

HTTP_REQUESTS = Counter(
    "stance_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "stance_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template (event streams excluded).",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS_APPENDED = Counter(
    "stance_events_appended", "Events this process appended to the log (idempotent replays not)."
)
EVENT_STREAMS_OPEN = Gauge("stance_event_streams_open", "Server-sent event streams now open.")

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UNTIMED_ROUTES = frozenset({"/v1/events/stream"})  # open for minutes: would swamp the histogram
_lag_source: LagSource | None = None


def record_events_appended(count: int) -> None:
    """Count ``count`` newly appended events; the command layer calls it after each commit."""
    if count > 0:
        EVENTS_APPENDED.inc(count)


def set_projector_lag_source(source: LagSource | None) -> None:
    """Report projector lag from ``source``, called at each scrape.

    ``source`` returns events behind the log's head: one number, or a number per projection
    name. A failing source makes the gauge disappear from that scrape, never fails the scrape.
    """
    global _lag_source
    _lag_source = source


class _ProjectorLagCollector(Collector):
    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        source = _lag_source
        if source is None:
            return []
        try:
            lag = source()
        except Exception:
            log.warning("the projector lag source failed", exc_info=True)
            return []
        family = self._family()
        items = lag.items() if isinstance(lag, Mapping) else [("all", lag)]
        for projection, value in items:
            family.add_metric([projection], float(value))
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "stance_projector_lag_events",
            "Events in the log that a projection has not applied yet.",
            labels=["projection"],
        )


REGISTRY.register(_ProjectorLagCollector())


class ReadCacheStats(Protocol):
    hits: int
    misses: int

    @property
    def size_bytes(self) -> int: ...

    def __len__(self) -> int: ...


_read_cache: ReadCacheStats | None = None


def set_read_cache_source(cache: ReadCacheStats | None) -> None:
    """Report the response cache's hits, misses and size, read at each scrape (no cost per
    request beyond the counts the cache keeps anyway)."""
    global _read_cache
    _read_cache = cache


class _ReadCacheCollector(Collector):
    def describe(self) -> Iterable[Metric]:
        return list(self._families(None))

    def collect(self) -> Iterable[Metric]:
        cache = _read_cache
        return [] if cache is None else list(self._families(cache))

    @staticmethod
    def _families(cache: ReadCacheStats | None) -> Iterator[Metric]:
        hits = CounterMetricFamily(
            "stance_read_cache_hits", "Cached reads answered from the response cache."
        )
        misses = CounterMetricFamily(
            "stance_read_cache_misses",
            "Cached reads not in the cache at the current read-model version.",
        )
        size = GaugeMetricFamily("stance_read_cache_bytes", "Bytes the response cache holds.")
        entries = GaugeMetricFamily("stance_read_cache_entries", "Answers the cache holds.")
        if cache is not None:
            hits.add_metric([], cache.hits)
            misses.add_metric([], cache.misses)
            size.add_metric([], cache.size_bytes)
            entries.add_metric([], len(cache))
        yield from (hits, misses, size, entries)


REGISTRY.register(_ReadCacheCollector())


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    """Counts and times every HTTP request; outermost, so it sees the final status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
            route = route_template(scope)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            if route not in _UNTIMED_ROUTES:
                HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started_at)


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics() -> Response:
    return Response(_generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
