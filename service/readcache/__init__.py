"""Cached reads: answers kept as bytes, keyed by the query and by the read models' version.

``version`` says which state the read models are in (and when to look again), ``responses``
holds the bytes, ``reads`` puts them together for routes. Above the queries and below the HTTP
layers, so the API and the dashboard can share one cache.
"""

from service.config import Settings
from service.db import Database
from service.readcache.reads import Build, Built, CachedReads
from service.readcache.responses import AliasBook, CachedAnswer, ResponseCache, entity_tag
from service.readcache.version import ReadModelVersion, VersionSource, read_version

__all__ = [
    "AliasBook",
    "Build",
    "Built",
    "CachedAnswer",
    "CachedReads",
    "ReadModelVersion",
    "ResponseCache",
    "VersionSource",
    "build_cached_reads",
    "entity_tag",
    "read_version",
]


def build_cached_reads(settings: Settings, database: Database) -> CachedReads:
    """The cache and version source of one process, bounded as the settings say."""
    version = VersionSource.for_database(
        database, max_age_seconds=settings.read_model_version_max_age_ms / 1000
    )
    cache = ResponseCache(
        max_bytes=settings.read_cache_max_bytes, max_entries=settings.read_cache_max_entries
    )
    return CachedReads(database, version, cache)
