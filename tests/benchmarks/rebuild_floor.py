"""The database's share of a projection rebuild: the same rows, folded beforehand.

A rebuild reads the log, folds it in Python and writes the rows it made. How fast it can ever
be on a backend is bounded by the last part alone: writing those rows, building their indexes
and committing. This runs ``Projector.rebuild`` unchanged with the fold already done (its rows
made once, untimed, by the rebuild's own ``Fold``), so what it times is the tables emptied or
created, the rows written, indexed and swapped in, and the commit: what no faster fold could
save. A rebuild target above ``events / floor`` cannot be met by these tables on this machine.
"""

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from service.projections import rebuild
from service.projections.shares import NO_SPLIT
from service.store import log_rows
from service.store.records import RecordedEvent
from service.wiring import Services

Rows = dict[str, list[tuple[Any, ...]]]


def measure(services: Services, *, runs: int) -> list[float]:
    """Seconds of each of ``runs`` rebuilds whose fold costs nothing. The read models are rebuilt
    for real afterwards, so they are as a plain rebuild leaves them."""
    folded = _fold(services)
    projector = services.projector
    split, projector.rebuild_split = projector.rebuild_split, NO_SPLIT
    timings = []
    try:
        with _folded_beforehand(*folded):
            for _ in range(runs):
                started = time.perf_counter()
                projector.rebuild()
                timings.append(time.perf_counter() - started)
    finally:
        projector.rebuild_split = split
    projector.rebuild()
    return timings


def report(services: Services, *, events: int, runs: int) -> None:
    timings = measure(services, runs=runs)
    floor = statistics.median(timings)
    print(
        f"  the database's share of a rebuild (the same rows, folded beforehand): median "
        f"{floor:.2f} s ({runs} runs: {', '.join(f'{t:.2f} s' for t in timings)}), so at most "
        f"{events / floor:,.0f} events/s however fast the fold"
    )


def _fold(services: Services) -> tuple[list[RecordedEvent], list[tuple[Any, ...]], Rows]:
    """The catalog events, the versions' rows and every other row, as a replay makes them: by
    the replay's own ``fold_log``, with what it hands the catalog and each settling kept."""
    with services.database.read() as session:
        connection = session.connection()
        fold = rebuild.Fold(rebuild.DriverValues(connection.dialect.name == "sqlite"))
        catalog = _Kept()
        settled: Rows = {}

        def keep(rows: Rows) -> None:
            for name, found in rows.items():
                settled.setdefault(name, []).extend(found)

        until = log_rows.last_position(connection)
        rebuild.fold_log(
            connection, services.store.upcasters, fold, until=until, settled=keep, catalog=catalog
        )
        versions = fold.take_versions()
        keep(fold.take_rest())
        versions.extend(settled.pop("statement_versions", []))
        return catalog.events, versions, settled


class _Kept:
    """Stands for the replay's ``CatalogFold`` while the log is folded: keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []

    def apply(self, events: list[RecordedEvent]) -> None:
        self.events.extend(events)


@contextmanager
def _folded_beforehand(
    catalog_events: list[RecordedEvent], versions: list[tuple[Any, ...]], rest: Rows
) -> Iterator[None]:
    """``rebuild.replay`` with a fold that hands over rows made before, and a read of the log
    that applies only its catalog events (a few hundred): the rest of the replay as it is."""
    real_fold, real_fold_log = rebuild.Fold, rebuild.fold_log

    class Folded:
        pending = 0

        def __init__(self, *_args: Any, **_kwargs: Any) -> None:
            pass

        def take_versions(self) -> list[tuple[Any, ...]]:
            return list(versions)

        def take_rest(self, _share: Any = None) -> Rows:
            return {name: list(found) for name, found in rest.items()}

    def fold_log(
        connection: Any,
        _upcasters: Any,
        _fold: Any,
        *,
        until: int,
        settled: Callable[[Rows], None],
        catalog: Any = None,
    ) -> tuple[int, int]:
        if catalog is not None:
            catalog.apply(catalog_events)
        return until, until

    rebuild.Fold, rebuild.fold_log = Folded, fold_log  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        rebuild.Fold, rebuild.fold_log = real_fold, real_fold_log  # type: ignore[misc]
