"""What one poll found, for the scheduler's log, the poll-now answer and the CLI."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from service.feeds.fetch import FetchResult
from service.feeds.leases import Claim, PollOutcome
from service.feeds.schedule import PollPlan


@dataclass(frozen=True)
class FoundStatement:
    """A statement a poll appended (``duplicate``: a retry found it already stored)."""

    statement_id: uuid.UUID
    actor_id: str
    topic_id: str
    stance: str
    confidence: float
    item_link: str | None
    position: int
    duplicate: bool


@dataclass(frozen=True)
class PollReport:
    """One feed's poll. ``recorded`` is False when its outcome could not be stored (the lease
    was lost to another worker, or the database failed); the statements stand either way."""

    feed_id: uuid.UUID
    url: str
    outcome: str
    http_status: int | None
    new_items: int
    statements: tuple[FoundStatement, ...]
    warnings: tuple[str, ...]
    error: str | None
    next_poll_at: datetime | None
    paused: bool
    stopped: bool
    schedule_reason: str
    recorded: bool


def report_for(
    claim: Claim,
    result: FetchResult,
    *,
    plan: PollPlan | None,
    recorded: bool,
    statements: tuple[FoundStatement, ...] = (),
    outcome: PollOutcome | None = None,
) -> PollReport:
    return PollReport(
        feed_id=claim.feed.id,
        url=claim.feed.url,
        outcome=result.status.value,
        http_status=result.http_status,
        new_items=len(outcome.items) if outcome else 0,
        statements=statements,
        warnings=(outcome.warnings or ()) if outcome else (),
        error=result.error,
        next_poll_at=plan.next_poll_at if plan else None,
        paused=plan.paused if plan else claim.feed.paused,
        stopped=plan.stopped if plan else claim.feed.stopped,
        schedule_reason=plan.reason if plan else "",
        recorded=recorded,
    )
