"""The read side: every answer is an indexed query on the read models, never a walk of the log."""

from service.queries.catalog import (
    ActorView,
    TopicView,
    get_actor,
    get_topic,
    list_actors,
    list_topics,
    resolve_actors,
    resolve_topics,
)
from service.queries.stances import (
    StanceChangeView,
    StanceView,
    StatementRef,
    current_stances,
    stance,
    stance_history,
    stances,
)
from service.queries.statements import (
    StatementFilter,
    StatementVersionView,
    StatementView,
    get_statement,
    list_statements,
)

__all__ = [
    "ActorView",
    "StanceChangeView",
    "StanceView",
    "StatementFilter",
    "StatementRef",
    "StatementVersionView",
    "StatementView",
    "TopicView",
    "current_stances",
    "get_actor",
    "get_statement",
    "get_topic",
    "list_actors",
    "list_statements",
    "list_topics",
    "resolve_actors",
    "resolve_topics",
    "stance",
    "stance_history",
    "stances",
]
