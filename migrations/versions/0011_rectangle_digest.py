"""Rectangle ids by a shorter digest: what a version says is hashed once per version, and each
rectangle hashes that with its own numbers packed as integers (``rectangle_id``), instead of
one JSON array of everything per rectangle, which took half of a rebuild's second pass.

The schema does not change, but the ids of the rectangles already stored do: they were digests
of what the rectangles say, and rows written from now on would have ids of the new kind beside
them, which ``stance projections verify`` would report as differences from a rebuild. So on a
database holding statements both directions leave the ``REBUILD_MARKER``: the first catch-up of
any process (or ``stance projections rebuild``) makes every rectangle again, announcing nothing
to the webhooks. Until then the old rows answer as before: their ids are still unique, and
readers cache cells by id without mistaking an old id for a new one. In a fleet, replicas of the
previous release may still take that rebuild or write after it, with ids of the old kind; the
README ("Upgrading the schema without downtime") says to rebuild once they are gone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.projections import checkpoints

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _mark_for_rebuild()


def downgrade() -> None:
    _mark_for_rebuild()


def _mark_for_rebuild() -> None:
    """Leave the marker that makes the next catch-up rebuild, if there is history to replay."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM stance_intervals LIMIT 1")).first() is not None:
        checkpoints.require_rebuild(bind)
