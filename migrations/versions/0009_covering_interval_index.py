"""A covering GiST index for the as-of replay on PostgreSQL (nothing changes on SQLite).

The index of 0008 held the two time ranges and the interval id. The ranges are expressions, and
PostgreSQL answers from an index alone only when the columns inside them are stored in it too,
so every probe visited the heap: about 3,300 pages for a matrix of 5,000 cells among 514,000
rectangles. This index also carries the four time columns, so the probe becomes an index-only
scan wherever the visibility map says a page is all-visible (the rebuild vacuums, and
autovacuum keeps it so): 9.1 to 7.9 ms for a matrix asked again, 7.8 to 5.7 ms known now.

Migrations run in one transaction, so the index is built with a plain CREATE INDEX: writes to
``stance_intervals`` (the projector's) wait for the build, about 9 s for 500,000 rectangles,
while reads go on; dropping the old index then locks the table only until the commit that
follows at once. The replay's SQL names no index, so old and new code work with either.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

from service.store import legacy_interval_index

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    bind.exec_driver_sql(legacy_interval_index.POSTGRES_INDEX_0009)
    bind.exec_driver_sql(f"DROP INDEX {legacy_interval_index.GIST_0008}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    bind.exec_driver_sql(legacy_interval_index.POSTGRES_INDEX_0008)
    bind.exec_driver_sql(f"DROP INDEX {legacy_interval_index.GIST}")
