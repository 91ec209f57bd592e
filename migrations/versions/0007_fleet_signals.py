"""Fleet signals and faithful imports: NOTIFY on append, projection and outbox; imported times.

On PostgreSQL, processes wake each other with LISTEN/NOTIFY instead of polling the tables. One
channel per purpose, suffixed with the schema so two deployments sharing a database never wake
each other (``service.signals`` names them the same way):

- ``stance.events.<schema>``: the log grew; the payload is its last position. Sent by
  ``append_events`` inside the append transaction, so it is delivered at commit, never for an
  append that rolled back.
- ``stance.projected.<schema>``: a projection checkpoint moved; the payload is ``name:position``.
  A trigger on ``projection_checkpoints``, so every way of moving one (catch-up, rebuild) sends it.
- ``stance.outbox.<schema>``: webhook deliveries were queued. A statement-level trigger, one
  notification per insert however many rows it wrote.

``append_events`` also takes an optional ``recorded_at`` in its batch, for ``stance events
import``: an imported event keeps its original transaction time (still never earlier than the
newest event in the log), so bitemporal answers are the same after a move between databases.

The function keeps its signature, so the change is additive: replicas running the previous code
keep calling it unchanged while this migration runs (expand, no contract step needed). SQLite has
no notifications and needs nothing here; its append takes the time from Python.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_EVENTS = """CREATE OR REPLACE FUNCTION append_events(
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
     v_given_time timestamptz := (p_batch ->> 'recorded_at')::timestamptz;
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
     v_recorded := greatest(coalesce(v_given_time, clock_timestamp()), v_last_recorded);
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
     PERFORM pg_notify('stance.events.' || current_schema(),
                       (v_last_position + cardinality(v_event_ids))::text);
   END $$"""

_SIGNALS = [
    """CREATE FUNCTION stance_notify_projected() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         PERFORM pg_notify('stance.projected.' || current_schema(),
                           NEW.name || ':' || NEW.position::text);
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER projection_checkpoints_notify
       AFTER INSERT OR UPDATE ON projection_checkpoints
       FOR EACH ROW EXECUTE FUNCTION stance_notify_projected()""",
    """CREATE FUNCTION stance_notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         PERFORM pg_notify('stance.outbox.' || current_schema(), '');
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER webhook_deliveries_notify
       AFTER INSERT ON webhook_deliveries
       FOR EACH STATEMENT EXECUTE FUNCTION stance_notify_outbox()""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(_APPEND_EVENTS)
    for statement in _SIGNALS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER webhook_deliveries_notify ON webhook_deliveries")
    op.execute("DROP FUNCTION stance_notify_outbox()")
    op.execute("DROP TRIGGER projection_checkpoints_notify ON projection_checkpoints")
    op.execute("DROP FUNCTION stance_notify_projected()")
    op.execute(_first_append_events().replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))


def _first_append_events() -> str:
    """The function as revision 0001 created it (its text lives there only)."""
    path = Path(__file__).with_name("0001_event_store.py")
    spec = importlib.util.spec_from_file_location("_stance_migration_0001", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return next(s for s in module._POSTGRES_GUARDS if "append_events(" in s)
