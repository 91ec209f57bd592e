"""What the service is doing: recent events (live), feeds, and webhook subscriptions.

All read-only. The webhook pages need a key that can write, the rule of ``GET /v1/webhooks`` and
of the delivery logs (``service.web.access`` says how a browser presents it); no secret is ever
shown, and URLs are shown without user info or query values, where credentials tend to hide.
"""

import uuid
from datetime import UTC, datetime
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from service.feeds.registry import list_feeds
from service.web.access import PageReader, PageWriter, runtime_of
from service.web.errors import not_found
from service.web.events import KNOWN_TYPES, RECENT_EVENTS, event_line
from service.web.scale import SCALE
from service.web.templating import render
from service.webhooks import delivery_log, subscriptions

MAX_LISTED: Final = 500
RECENT_DELIVERIES: Final = 50
REPLY_EXCERPT_CHARS: Final = 300
_PRIVATE: Final = {"Cache-Control": "no-store"}

router = APIRouter(include_in_schema=False)


@router.get("/events", response_class=HTMLResponse)
def events_page(request: Request, _reader: PageReader) -> HTMLResponse:
    runtime = runtime_of(request)
    store = runtime.event_store
    with runtime.database.read() as session:
        last = store.last_position(session)
        recent = store.read_all(session, after=max(last - RECENT_EVENTS, 0), limit=RECENT_EVENTS)
    return render(
        request,
        "events.html",
        lines=[event_line(event) for event in reversed(recent)],
        last_position=last,
        event_types=KNOWN_TYPES,
        stance_labels={entry.stance: entry.label for entry in SCALE},
        limit=RECENT_EVENTS,
    )


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(request: Request, _reader: PageReader) -> HTMLResponse:
    feeds = list_feeds(runtime_of(request).database, limit=MAX_LISTED)
    return render(request, "feeds.html", feeds=feeds, now=datetime.now(UTC), limit=MAX_LISTED)


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, _writer: PageWriter) -> HTMLResponse:
    now = datetime.now(UTC)
    with runtime_of(request).database.read() as session:
        found = subscriptions.list_subscriptions(
            session.connection(), after=None, limit=MAX_LISTED, now=now
        )
    return render(
        request, "webhooks.html", headers=_PRIVATE, webhooks=found, now=now, limit=MAX_LISTED
    )


@router.get("/webhooks/{webhook_id}", response_class=HTMLResponse)
def webhook_page(request: Request, webhook_id: str, _writer: PageWriter) -> HTMLResponse:
    try:
        subscription_id = uuid.UUID(webhook_id)
    except ValueError:
        raise not_found(f"There is no webhook {webhook_id!r}.") from None
    now = datetime.now(UTC)
    with runtime_of(request).database.read() as session:
        connection = session.connection()
        webhook = subscriptions.get_subscription(connection, subscription_id, now=now)
        if webhook is None:
            raise not_found(f"There is no webhook {webhook_id!r}.")
        deliveries = delivery_log.list_deliveries(
            connection,
            subscription_id,
            before=None,
            status=None,
            limit=RECENT_DELIVERIES,
            excerpt_limit=REPLY_EXCERPT_CHARS,
        )
    return render(
        request,
        "webhook.html",
        headers=_PRIVATE,
        webhook=webhook,
        deliveries=deliveries,
        now=now,
        limit=RECENT_DELIVERIES,
    )
