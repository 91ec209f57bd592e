"""CLI commands over the read models: the demo, replay, and projection rebuild and verify."""

from datetime import UTC, date, datetime, time

import typer

from service.config import get_settings
from service.demo.loader import load_demo
from service.projections.errors import LogNotReplayable
from service.projections.loop import CatchUpLoop
from service.queries import StanceView, resolve_actors, resolve_topics, stances
from service.queries.catalog import Resolved
from service.store import migrate as migrations
from service.wiring import Services, build_services

projections_app = typer.Typer(help="Rebuild or verify the read models.", no_args_is_help=True)


def _services() -> Services:
    services = build_services(get_settings())
    migrations.upgrade(services.database.engine)
    return services


def parse_when(value: str, *, end_of_day: bool, option: str) -> datetime:
    """A date (the whole day counts: its end for as-of) or an ISO datetime; naive means UTC."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 datetime", param_hint=option
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def demo() -> None:
    """Load the demo data set (the CSTO article of May 2022 and its corrections)."""
    services = _services()
    try:
        report = load_demo(services.bus)
    finally:
        services.close()
    typer.echo(f"appended {report.appended} events, {report.already_stored} already stored")
    if report.article_known_at and report.corrected_at:
        typer.echo(f"the article as published: --known-at {report.article_known_at.isoformat()}")
        typer.echo(f"corrections recorded from: {report.corrected_at.isoformat()}")


def replay(
    as_of: str = typer.Option(..., "--as-of", help="Valid time: YYYY-MM-DD or ISO datetime."),
    known_at: str | None = typer.Option(
        None, "--known-at", help="Transaction time: what the record said then (default: now)."
    ),
    actor: list[str] | None = typer.Option(
        None, "--actor", help="Only this actor: id, name or alias (repeatable)."
    ),
    topic: list[str] | None = typer.Option(
        None, "--topic", help="Only this topic: id or title (repeatable)."
    ),
) -> None:
    """Print the stance matrix as of a date, as known at a moment."""
    valid = parse_when(as_of, end_of_day=True, option="--as-of")
    known = None if known_at is None else parse_when(known_at, end_of_day=True, option="--known-at")
    services = _services()
    try:
        with services.database.read() as session:
            connection = session.connection()
            found = stances(
                connection,
                as_of=valid,
                known_at=known,
                actor_ids=resolve(
                    resolve_actors(connection, actor) if actor else None,
                    option="--actor",
                    accepts="its id, its name or one of its aliases",
                ),
                topic_ids=resolve(
                    resolve_topics(connection, topic) if topic else None,
                    option="--topic",
                    accepts="its id or its title",
                ),
            )
        lag = services.projector.lag()
    finally:
        services.close()
    typer.echo(
        f"stances as of {valid.isoformat()}, known at {known.isoformat() if known else 'now'}"
    )
    typer.echo(render_matrix(found))
    if lag:
        typer.echo(
            f"note: the read models have not applied the log's last {lag} events yet, so this "
            "may not show them; `stance projections catch-up` applies them",
            err=True,
        )


def resolve(resolved: Resolved | None, *, option: str, accepts: str) -> list[str] | None:
    """The ids a filter's values name (an id, a name or an alias each); a value that names
    nothing, or more than one, is a usage error rather than an empty matrix."""
    if resolved is None:
        return None
    if resolved.unknown:
        what = option.removeprefix("--")
        raise typer.BadParameter(
            f"no {what} {resolved.unknown[0]!r}: give {accepts}", param_hint=option
        )
    if resolved.ambiguous:
        name, found = next(iter(resolved.ambiguous.items()))
        raise typer.BadParameter(
            f"{name!r} may be any of {', '.join(found)}: give the id", param_hint=option
        )
    return resolved.ids


_SYMBOLS = {
    "opposes": "-- opposes",
    "leans_opposes": "-  leans opposes",
    "neutral": "0  neutral",
    "leans_supports": "+  leans supports",
    "supports": "++ supports",
}


def render_matrix(found: list[StanceView]) -> str:
    """Actors down, topics across; a blank cell is no stance (silence is not a stance)."""
    if not found:
        return "(no stances)"
    actors = sorted({s.actor_id for s in found})
    topics = sorted({s.topic_id for s in found})
    cells = {
        (s.actor_id, s.topic_id): _SYMBOLS[s.stance] + (" (flip)" if s.flip else "") for s in found
    }
    widths = [max(len("actor"), *(len(a) for a in actors))] + [
        max(len(t), *(len(cells.get((a, t), "")) for a in actors)) for t in topics
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(["actor", *topics], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for a in actors:
        row = [a, *(cells.get((a, t), "") for t in topics)]
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


@projections_app.command("rebuild")
def rebuild() -> None:
    """Empty the read models and replay the whole log into them (one transaction)."""
    services = _services()
    try:
        started = datetime.now(UTC)
        applied = services.projector.rebuild()
        seconds = (datetime.now(UTC) - started).total_seconds()
    except LogNotReplayable as error:
        raise _unreplayable(error) from None
    finally:
        services.close()
    typer.echo(f"rebuilt the read models from {applied} events in {seconds:.2f} s")


def _unreplayable(error: LogNotReplayable) -> typer.Exit:
    typer.echo(
        f"error: the log cannot be replayed: {error}; the read models are as they were", err=True
    )
    return typer.Exit(1)


@projections_app.command("catch-up")
def catch_up(
    follow: bool = typer.Option(
        False, "--follow", help="Keep running, applying new events as they are appended."
    ),
    poll_seconds: float = typer.Option(1.0, "--poll-seconds", min=0.05),
) -> None:
    """Apply the events the read models have not seen yet (and, with --follow, keep doing so)."""
    services = _services()
    try:
        applied = services.projector.catch_up()
        typer.echo(f"applied {applied} events; read models at {services.projector.position()}")
        if follow:
            CatchUpLoop(services.projector, poll_seconds=poll_seconds).run_until_stopped()
    finally:
        services.close()


@projections_app.command("verify")
def verify() -> None:
    """Rebuild into scratch tables and compare with the live read models; exit 1 on a difference."""
    services = _services()
    try:
        differences = services.projector.verify()
    except LogNotReplayable as error:
        raise _unreplayable(error) from None
    finally:
        services.close()
    if not differences:
        typer.echo("read models match a rebuild from the log")
        return
    for d in differences:
        typer.echo(
            f"{d.table}: {d.only_live} rows only in the live table, "
            f"{d.only_rebuilt} only in the rebuild; e.g. {d.example}",
            err=True,
        )
    raise typer.Exit(code=1)
