"""Webhook subscriptions: subscribe, list, read, enable, disable, rotate the secret, delete.

Subscriptions are configuration, not events: they live in their own tables, and the projector's
outbox hook reads them afresh in every batch. The subscriber URL is checked when it is submitted
and again by the outbound transport at every delivery, since DNS answers change. ``router`` also
carries the delivery log routes (``webhook_deliveries``), so the app includes one router.
"""

from fastapi import APIRouter, Request, status
from sqlalchemy import Connection

from service.api.deps import RuntimeDep, WriterDep
from service.api.pagination import DEFAULT_LIMIT, Cursor, Limit
from service.api.routes import webhook_deliveries
from service.api.webhook_schemas import (
    SecretRotated,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPage,
)
from service.api.webhook_support import (
    LISTING,
    ONE,
    WRITE,
    WebhookId,
    checked_url,
    in_thread,
    keyset,
    next_cursor,
    utc_now,
    wake_worker,
    webhook_not_found,
)
from service.domain.errors import UnknownActor, UnknownTopic
from service.runtime import Runtime
from service.webhooks import subscriptions

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _check_filters(connection: Connection, body: WebhookIn) -> None:
    """Filters naming actors or topics the catalog does not know are refused (422)."""
    actors, topics = body.actors or [], body.topics or []
    unknown_actors, unknown_topics = subscriptions.unknown_references(
        connection, actor_ids=actors, topic_ids=topics
    )
    if unknown_actors:
        index = actors.index(unknown_actors[0])
        raise UnknownActor(f"no actor {unknown_actors[0]!r}", field=f"actors[{index}]")
    if unknown_topics:
        index = topics.index(unknown_topics[0])
        raise UnknownTopic(f"no topic {unknown_topics[0]!r}", field=f"topics[{index}]")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe an endpoint to stance changes",
    response_model=WebhookCreated,
    responses=WRITE,
)
async def create_webhook(
    body: WebhookIn, runtime: RuntimeDep, principal: WriterDep
) -> WebhookCreated:
    """Creates an enabled subscription and returns its `whsec_…` secret, this once only.

    Messages are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`), so any of its libraries can verify them with this secret.
    """
    url = await checked_url(body.url, allow_private=runtime.settings.allow_private_urls)

    def create(connection: Connection) -> WebhookCreated:
        _check_filters(connection, body)
        view, secret = subscriptions.create_subscription(
            connection,
            url=url,
            description=body.description,
            actor_ids=body.actors,
            topic_ids=body.topics,
            flips_only=body.flips_only,
            created_by=principal.recorded_by,
            now=utc_now(),
        )
        return WebhookCreated.made(view, secret)

    return await in_thread(runtime, create, write=True)


@router.get("", summary="List webhook subscriptions", response_model=WebhookPage, responses=LISTING)
def list_webhooks(
    runtime: RuntimeDep, _operator: WriterDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> WebhookPage:
    """Subscriptions oldest first; deleted ones are not listed."""
    with runtime.database.read() as session:
        found = subscriptions.list_subscriptions(
            session.connection(), after=keyset(cursor, "webhooks"), limit=limit + 1, now=utc_now()
        )
    page, more = found[:limit], len(found) > limit
    return WebhookPage(
        items=[WebhookOut.of(view) for view in page],
        next_cursor=next_cursor("webhooks", page, more),
    )


@router.get(
    "/{webhook_id}", summary="One webhook subscription", response_model=WebhookOut, responses=ONE
)
def get_webhook(webhook_id: WebhookId, runtime: RuntimeDep, _operator: WriterDep) -> WebhookOut:
    with runtime.database.read() as session:
        view = subscriptions.get_subscription(session.connection(), webhook_id, now=utc_now())
    if view is None:
        raise webhook_not_found(webhook_id)
    return WebhookOut.of(view)


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook subscription",
    responses=WRITE,
)
def delete_webhook(webhook_id: WebhookId, runtime: RuntimeDep, _writer: WriterDep) -> None:
    """Stops its deliveries (pending ones are cancelled); its delivery log is kept."""
    with runtime.database.write() as session:
        deleted = subscriptions.delete_subscription(session.connection(), webhook_id, now=utc_now())
    if not deleted:
        raise webhook_not_found(webhook_id)


def _set_enabled(runtime: Runtime, webhook_id: WebhookId, *, enabled: bool) -> WebhookOut:
    with runtime.database.write() as session:
        view = subscriptions.set_enabled(
            session.connection(), webhook_id, enabled=enabled, now=utc_now()
        )
    if view is None:
        raise webhook_not_found(webhook_id)
    return WebhookOut.of(view)


@router.post(
    "/{webhook_id}/enable", summary="Enable a webhook", response_model=WebhookOut, responses=WRITE
)
def enable_webhook(
    webhook_id: WebhookId, request: Request, runtime: RuntimeDep, _writer: WriterDep
) -> WebhookOut:
    """Deliveries resume, the waiting ones first; the failure run that disabled it is forgiven."""
    answer = _set_enabled(runtime, webhook_id, enabled=True)
    wake_worker(request)
    return answer


@router.post(
    "/{webhook_id}/disable", summary="Disable a webhook", response_model=WebhookOut, responses=WRITE
)
def disable_webhook(webhook_id: WebhookId, runtime: RuntimeDep, _writer: WriterDep) -> WebhookOut:
    """Nothing is sent while disabled: new changes are not queued for it, queued ones wait."""
    return _set_enabled(runtime, webhook_id, enabled=False)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Rotate the signing secret",
    response_model=SecretRotated,
    responses=WRITE,
)
def rotate_secret(webhook_id: WebhookId, runtime: RuntimeDep, _writer: WriterDep) -> SecretRotated:
    """Returns the new secret, this once. For 24 hours each message carries two signatures, one
    per secret, so the receiver can switch to the new secret whenever it is ready."""
    with runtime.database.write() as session:
        secret = subscriptions.rotate_secret(session.connection(), webhook_id, now=utc_now())
    if secret is None:
        raise webhook_not_found(webhook_id)
    return SecretRotated.of(secret)


router.include_router(webhook_deliveries.router)
