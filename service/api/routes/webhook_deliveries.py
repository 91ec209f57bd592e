"""A webhook's delivery log and manual redelivery; included by ``routes.webhooks.router``."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from service.api.deps import RuntimeDep, WriterDep
from service.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from service.api.problems import Conflict, NotFound
from service.api.webhook_schemas import DeliveryOut, DeliveryPage, DeliveryStatus
from service.api.webhook_support import (
    LISTING,
    ONE,
    WRITE,
    DeliveryId,
    WebhookId,
    keyset,
    next_cursor,
    utc_now,
    wake_worker,
    webhook_not_found,
)
from service.webhooks import delivery_log, subscriptions

LISTING_EXCERPT_CHARS = 1000
"""Reply excerpts are cut this short in listings; one delivery's answer shows them whole."""

# Under routes.webhooks.router, whose prefix is /v1/webhooks.
router = APIRouter(prefix="/{webhook_id}/deliveries", tags=["webhooks"])


@router.get(
    "",
    summary="The delivery log of a webhook",
    response_model=DeliveryPage,
    responses={**ONE, **LISTING},
)
def list_deliveries(
    webhook_id: WebhookId,
    runtime: RuntimeDep,
    _operator: WriterDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
) -> DeliveryPage:
    """Messages newest first, each with every attempt: status code, error, duration, next try."""
    with runtime.database.read() as session:
        connection = session.connection()
        if subscriptions.get_subscription(connection, webhook_id, now=utc_now()) is None:
            raise webhook_not_found(webhook_id)
        found = delivery_log.list_deliveries(
            connection,
            webhook_id,
            before=keyset(cursor, "deliveries"),
            status=status,
            limit=limit + 1,
            excerpt_limit=LISTING_EXCERPT_CHARS,
        )
    page, more = found[:limit], len(found) > limit
    return DeliveryPage(
        items=[DeliveryOut.of(view) for view in page],
        next_cursor=next_cursor("deliveries", page, more),
    )


@router.get(
    "/{delivery_id}",
    summary="One delivery, with its payload",
    response_model=DeliveryOut,
    responses=ONE,
)
def get_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, runtime: RuntimeDep, _operator: WriterDep
) -> DeliveryOut:
    with runtime.database.read() as session:
        connection = session.connection()
        if subscriptions.get_subscription(connection, webhook_id, now=utc_now()) is None:
            raise webhook_not_found(webhook_id)
        view = delivery_log.get_delivery(connection, webhook_id, delivery_id)
    if view is None:
        raise NotFound(f"no delivery {delivery_id} for webhook {webhook_id}")
    return DeliveryOut.of(view, with_payload=True)


@router.post(
    "/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a delivery again now",
    response_model=DeliveryOut,
    responses=WRITE,
)
def retry_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    request: Request,
    runtime: RuntimeDep,
    _writer: WriterDep,
) -> DeliveryOut:
    """Queues the message again, due now, with the same `webhook-id`; any state may be retried."""
    with runtime.database.write() as session:
        connection = session.connection()
        webhook = subscriptions.get_subscription(connection, webhook_id, now=utc_now())
        if webhook is None:
            raise webhook_not_found(webhook_id)
        if not webhook.enabled:
            raise Conflict(f"webhook {webhook_id} is disabled; enable it to send again")
        view = delivery_log.retry_delivery(connection, webhook_id, delivery_id, now=utc_now())
    if view is None:
        raise NotFound(f"no delivery {delivery_id} for webhook {webhook_id}")
    wake_worker(request)
    return DeliveryOut.of(view)
