"""The demo data set, built from the seed article, as an ordered list of commands.

The order is the order a loader must follow: the catalog first (statements refer to it), then the
article's statements, then the corrections, so the log shows the record being fixed after the fact.
Each step produces exactly one event, to be appended under the step's ``event_id``.
"""

from service.demo.article import article_statements, public_record_corrections
from service.demo.catalog import ACTORS, TOPICS
from service.demo.steps import DEMO_NAMESPACE, DemoCommand, DemoStep, demo_statement_id

__all__ = ["DEMO_NAMESPACE", "DemoCommand", "DemoStep", "demo_commands", "demo_statement_id"]

_JAPAROV_NOTE = (
    "The article calls Japarov Prime Minister of Kyrgyzstan; he has been President since "
    "January 2021, so that is the role on record."
)


def demo_commands() -> list[DemoStep]:
    """Every demo step in loading order; the same list, ids included, on every call."""
    actors = [
        DemoStep.of(
            f"actor:{cmd.actor_id}", cmd, _JAPAROV_NOTE if cmd.actor_id == "japarov" else None
        )
        for cmd in ACTORS
    ]
    topics = [DemoStep.of(f"topic:{cmd.topic_id}", cmd) for cmd in TOPICS]
    return [*actors, *topics, *article_statements(), *public_record_corrections()]
