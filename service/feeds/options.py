"""Feed polling settings turned into the objects that use them: the schedule policy and the client.

The client is the guarded one (``service.net.transport``): every connection, redirects included,
is refused if it leads to a private address, unless ``STANCE_ALLOW_PRIVATE_URLS`` says otherwise.
"""

from datetime import timedelta

import httpx

from service.config import Settings
from service.feeds.schedule import SchedulePolicy
from service.net.transport import build_client


def schedule_policy(settings: Settings) -> SchedulePolicy:
    """The floor and caps of ``plan_next_poll`` from the feed interval bounds."""
    cap = timedelta(seconds=settings.feed_max_interval_seconds)
    return SchedulePolicy(
        floor=timedelta(seconds=settings.feed_min_interval_seconds),
        ttl_cap=cap,
        max_backoff=cap,
        pause_after=settings.feed_pause_after_failures,
    )


def build_feed_client(settings: Settings) -> httpx.AsyncClient:
    """An outbound client for feeds; the caller closes it (``async with`` or ``aclose``).

    ``fetch`` follows redirects itself, hop by hop, so the client does not. Its pool is sized to
    the poller's concurrency, so a cycle's fetches do not wait for connections.
    """
    connections = max(settings.feed_concurrency, 1)
    return build_client(
        allow_private=settings.allow_private_urls,
        user_agent=settings.feed_user_agent,
        timeout=httpx.Timeout(settings.feed_timeout_seconds),
        follow_redirects=False,
        max_redirects=settings.feed_max_redirects,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )
