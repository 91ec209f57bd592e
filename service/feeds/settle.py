"""Settling a fetched feed: what the poll found becomes statements, items and the feed's state.

Runs in worker threads, never on the event loop. A body is parsed, the items the feed already
stored are skipped, the new ones' statements appended (see ``appender``), and the items and the
feed's next poll written. A poll that brought no body (304, an error, 429, 410) only changes the
feed's row, so those are written many to a transaction. Nothing here raises: whatever goes wrong
is recorded on the feed as its error, or, if even that fails, left to the lease to run out.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from service.db import Database
from service.feeds.appender import StatementAppender
from service.feeds.digest import FeedError, UnsafeXml, propose, publisher_for, read_entries
from service.feeds.extract import ExtractionCatalog
from service.feeds.fetch import FetchResult, FetchStatus
from service.feeds.leases import Claim, PollOutcome, SeenItem, finish, finish_all, known_hashes
from service.feeds.reports import FoundStatement, PollReport, report_for
from service.feeds.schedule import PollPlan, SchedulePolicy, plan_next_poll

logger = logging.getLogger(__name__)


class Settler:
    def __init__(
        self,
        *,
        database: Database,
        appender: StatementAppender,
        policy: SchedulePolicy,
        clock: Callable[[], datetime],
        jitter: Callable[[], float],
    ) -> None:
        self._database = database
        self._appender = appender
        self._policy = policy
        self._clock = clock
        self._jitter = jitter

    def settle(self, claim: Claim, result: FetchResult, catalog: ExtractionCatalog) -> PollReport:
        """A poll that brought a body. The bus's after-write hooks are left to the caller."""
        try:
            return self._settle(claim, result, catalog)
        except Exception as exc:
            logger.exception("polling feed %s (%s) failed", claim.feed.id, claim.feed.url)
            failure = _failure(result, f"internal error: {type(exc).__name__}: {exc}")
            return self.record_all([(claim, failure)])[0]

    def record_all(self, polls: Sequence[tuple[Claim, FetchResult]]) -> list[PollReport]:
        """Polls that brought no body, in one transaction."""
        planned = [(claim, result, *self._outcome(claim, result)) for claim, result in polls]
        try:
            recorded = finish_all(self._database, [(c, outcome) for c, _, _, outcome in planned])
        except Exception:
            logger.exception("cannot record the outcome of %d polls", len(polls))
            recorded = [False] * len(planned)
        return [
            report_for(claim, result, plan=plan, recorded=done, outcome=outcome)
            for (claim, result, plan, outcome), done in zip(planned, recorded, strict=True)
        ]

    def _settle(self, claim: Claim, result: FetchResult, catalog: ExtractionCatalog) -> PollReport:
        feed = claim.feed
        try:
            document = read_entries(
                result.body,
                kind=feed.kind,
                content_type=result.content_type,
                url=result.url,
                feed_id=str(feed.id),
            )
        except (FeedError, UnsafeXml) as exc:
            return self.record_all([(claim, _failure(result, f"unreadable feed: {exc}"))])[0]
        known = known_hashes(self._database, feed.id, [e.guid_hash for e in document.entries])
        warnings = list(document.warnings)
        if result.permanent_redirect:
            warnings.append(f"moved permanently to {result.permanent_redirect}; update the URL")
        publisher = publisher_for(feed.name, document.title, feed.url)
        observed_at = self._clock()
        found: list[FoundStatement] = []
        seen: list[SeenItem] = []
        for entry in document.entries:
            if entry.guid_hash in known:
                continue
            commands = propose(
                entry,
                catalog=catalog,
                feed_id=str(feed.id),
                publisher=publisher,
                observed_at=observed_at,
            )
            recorded = [
                statement
                for command in commands
                if (statement := self._appender.append(feed.id, command, entry.link, warnings))
            ]
            found.extend(recorded)
            seen.append(SeenItem(entry.guid_hash, entry.link, entry.title, len(recorded)))
        plan, outcome = self._outcome(
            claim,
            result,
            feed_ttl=document.ttl,
            warnings=tuple(warnings),
            items=tuple(seen),
            statements=len(found),
        )
        done = finish(self._database, claim, outcome)
        if not done:
            logger.warning("feed %s: lease lost before its poll was recorded", feed.id)
        return report_for(
            claim, result, plan=plan, recorded=done, statements=tuple(found), outcome=outcome
        )

    def _outcome(
        self,
        claim: Claim,
        result: FetchResult,
        *,
        feed_ttl: timedelta | None = None,
        warnings: tuple[str, ...] | None = None,
        items: tuple[SeenItem, ...] = (),
        statements: int = 0,
    ) -> tuple[PollPlan, PollOutcome]:
        feed, now = claim.feed, self._clock()
        plan = plan_next_poll(
            now=now,
            status=result.status,
            interval=timedelta(seconds=feed.interval_seconds),
            consecutive_failures=feed.consecutive_failures,
            feed_ttl=feed_ttl,
            http_ttl=result.ttl,
            retry_after=result.retry_after,
            policy=self._policy,
            jitter_draw=self._jitter(),
        )
        succeeded = result.status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED)
        return plan, PollOutcome(
            polled_at=now,
            outcome=result.status.value,
            http_status=result.http_status,
            plan=plan,
            succeeded=succeeded,
            etag=result.etag,
            last_modified=result.last_modified,
            error=None if succeeded else result.error,
            warnings=warnings,
            items=items,
            statements=statements,
        )


def _failure(result: FetchResult, error: str) -> FetchResult:
    return FetchResult(
        status=FetchStatus.ERROR, url=result.url, http_status=result.http_status, error=error
    )
