"""The event store: the append-only events table, its guards, and projection checkpoints.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.types import UTCDateTime, json_type, position_type

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_GUARDS = [
    """CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is refused'); END""",
    """CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE is refused'); END""",
]

_POSTGRES_GUARDS = [
    """CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'events are append-only: % is refused', TG_OP
           USING ERRCODE = 'integrity_constraint_violation';
       END $$""",
    # One round trip per append: the lock, the checks and the insert. PL/pgSQL runs each statement
    # with a fresh snapshot, so the checks after the lock see every append committed before it.
    # Payloads come as one JSON array per batch: parsing one document is several times faster
    # than parsing a jsonb[] literal of as many documents.
    """CREATE FUNCTION append_events(
           p_stream_id text, p_expected_version integer, p_event_ids uuid[], p_types text[],
           p_schema_versions integer[], p_data jsonb, p_metadata jsonb)
       RETURNS TABLE (outcome text, stream_version integer, first_position bigint,
                      recorded_at timestamptz)
       LANGUAGE plpgsql AS $$
       #variable_conflict use_column
       DECLARE
         v_current integer;
         v_last_position bigint;
         v_last_recorded timestamptz;
         v_recorded timestamptz;
       BEGIN
         PERFORM pg_advisory_xact_lock(91759315936101);  -- the append lock ("Stance")
         SELECT max(e.version) INTO v_current FROM events e WHERE e.stream_id = p_stream_id;
         v_current := coalesce(v_current, -1);
         IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY (p_event_ids)) THEN
           RETURN QUERY SELECT 'stored'::text, v_current, NULL::bigint, NULL::timestamptz;
           RETURN;
         END IF;
         IF p_expected_version IS NOT NULL AND p_expected_version <> v_current THEN
           RETURN QUERY SELECT 'conflict'::text, v_current, NULL::bigint, NULL::timestamptz;
           RETURN;
         END IF;
         SELECT e.position, e.recorded_at INTO v_last_position, v_last_recorded
           FROM events e ORDER BY e.position DESC LIMIT 1;
         v_last_position := coalesce(v_last_position, 0);
         v_recorded := greatest(clock_timestamp(), coalesce(v_last_recorded, '-infinity'));
         INSERT INTO events (position, event_id, stream_id, version, type, schema_version,
                             data, metadata, recorded_at)
         SELECT v_last_position + u.n, u.event_id, p_stream_id, v_current + u.n::integer,
                u.type, u.schema_version, p_data -> (u.n - 1)::integer,
                p_metadata -> (u.n - 1)::integer, v_recorded
           FROM unnest(p_event_ids, p_types, p_schema_versions)
                WITH ORDINALITY AS u(event_id, type, schema_version, n);
         RETURN QUERY SELECT 'appended'::text, v_current + cardinality(p_event_ids),
                             v_last_position + 1, v_recorded;
       END $$""",
    """CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION events_refuse_change()""",
    """CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change()""",
]


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", position_type(), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("data", json_type(), nullable=False),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
        sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
        sa.CheckConstraint("version >= 0", name="ck_events_version_not_negative"),
    )
    op.create_index("ix_events_type_position", "events", ["type", "position"])
    op.create_index("ix_events_recorded_at", "events", ["recorded_at"])
    op.create_table(
        "projection_checkpoints",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", position_type(), nullable=False, server_default="0"),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    guards = _SQLITE_GUARDS if op.get_bind().dialect.name == "sqlite" else _POSTGRES_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("projection_checkpoints")
    op.drop_table("events")  # its triggers go with it
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION events_refuse_change()")
        op.execute(
            "DROP FUNCTION append_events(text, integer, uuid[], text[], integer[], jsonb, jsonb)"
        )
