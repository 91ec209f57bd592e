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
    #
    # The batch comes as one JSON document of columns, {"event_id": [...], "type": [...],
    # "schema_version": [...], "data": [...], "metadata": [...]}: the client serialises it in one
    # orjson call, where adapting typed arrays parameter by parameter costs more than the insert of
    # a one-event append, and the server parses it once.
    #
    # enable_seqscan is off inside the function because PL/pgSQL caches each statement's plan for
    # the life of the connection: planned while the table is young (a few pages, no statistics
    # yet), the event id check becomes a sequential scan that is kept as the log grows, and every
    # append then reads the whole table. Each lookup here is an index probe at any size.
    """CREATE FUNCTION append_events(
           p_stream_id text, p_expected_version integer, p_batch jsonb,
           OUT outcome text, OUT stream_version integer, OUT first_position bigint,
           OUT recorded_at timestamptz)
       LANGUAGE plpgsql SET enable_seqscan = off AS $$
       #variable_conflict use_column
       DECLARE
         v_event_ids uuid[] := ARRAY(
           SELECT jsonb_array_elements_text(p_batch -> 'event_id'))::uuid[];
         v_types text[] := ARRAY(SELECT jsonb_array_elements_text(p_batch -> 'type'));
         v_schema_versions integer[] := ARRAY(
           SELECT jsonb_array_elements_text(p_batch -> 'schema_version'))::integer[];
         v_data jsonb := p_batch -> 'data';
         v_metadata jsonb := p_batch -> 'metadata';
         v_current integer;
         v_stored boolean;
         v_last_position bigint;
         v_last_recorded timestamptz;
         v_recorded timestamptz;
       BEGIN
         PERFORM pg_advisory_xact_lock(91759315936101);  -- the append lock ("Stance")
         SELECT coalesce((SELECT max(e.version) FROM events e WHERE e.stream_id = p_stream_id), -1),
                EXISTS (SELECT FROM events e WHERE e.event_id = ANY (v_event_ids)),
                coalesce((SELECT max(e.position) FROM events e), 0),
                (SELECT max(e.recorded_at) FROM events e)
           INTO v_current, v_stored, v_last_position, v_last_recorded;
         stream_version := v_current;
         IF v_stored THEN
           outcome := 'stored';
           RETURN;
         END IF;
         IF p_expected_version IS NOT NULL AND p_expected_version <> v_current THEN
           outcome := 'conflict';
           RETURN;
         END IF;
         v_recorded := greatest(clock_timestamp(), v_last_recorded);
         INSERT INTO events (position, event_id, stream_id, version, type, schema_version,
                             data, metadata, recorded_at)
         SELECT v_last_position + u.n, u.event_id, p_stream_id, v_current + u.n::integer,
                u.type, u.schema_version, v_data -> (u.n - 1)::integer,
                v_metadata -> (u.n - 1)::integer, v_recorded
           FROM unnest(v_event_ids, v_types, v_schema_versions)
                WITH ORDINALITY AS u(event_id, type, schema_version, n);
         outcome := 'appended';
         stream_version := v_current + cardinality(v_event_ids);
         first_position := v_last_position + 1;
         recorded_at := v_recorded;
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
        op.execute("DROP FUNCTION append_events(text, integer, jsonb)")
