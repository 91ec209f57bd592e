"""The outbox hook, through the real write side and projector, on SQLite and PostgreSQL."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from service.domain.commands import ApproveStatement, RecordStatement
from service.store.webhook_tables import deliveries_table
from service.webhooks.outbox import write_outbox
from service.webhooks.payload import outbox_key
from service.webhooks.subscriptions import delete_subscription, set_enabled
from tests.webhooks.harness import BASE, SOURCE, World

URL = "http://127.0.0.1:9/hook"


def test_a_change_queues_one_delivery_per_matching_subscription(world: World) -> None:
    everything, _ = world.subscribe(URL)
    lukashenko, _ = world.subscribe(URL, actors=["lukashenko"])
    war, _ = world.subscribe(URL, topics=["war-justified"])
    other_actor, _ = world.subscribe(URL, actors=["tokayev"])
    other_topic, _ = world.subscribe(URL, topics=["sanctions"])
    flips, _ = world.subscribe(URL, flips_only=True)

    world.say("lukashenko", "war-justified", "supports")

    assert [len(world.deliveries(s)) for s in (everything, lukashenko, war)] == [1, 1, 1]
    assert [len(world.deliveries(s)) for s in (other_actor, other_topic, flips)] == [0, 0, 0]
    row = world.deliveries(everything)[0]
    assert (row.status, row.attempts, row.event_type) == ("pending", 0, "stance.changed")
    assert row.next_attempt_at <= datetime.now(UTC)
    assert (row.actor_id, row.topic_id) == ("lukashenko", "war-justified")


def test_no_delivery_when_the_stance_label_does_not_change(world: World) -> None:
    subscription, _ = world.subscribe(URL)
    world.say("lukashenko", "war-justified", "supports")
    world.say("lukashenko", "war-justified", "supports")  # same label, newer statement
    older = BASE - timedelta(days=400)
    world.say("lukashenko", "war-justified", "opposes", stated_at=older)  # history, not current
    assert len(world.deliveries(subscription)) == 1


def test_flips_only_subscriptions_hear_of_flips_alone(world: World) -> None:
    flips, _ = world.subscribe(URL, flips_only=True)
    world.say("tokayev", "sanctions", "supports")  # first stance: not a flip
    world.say("tokayev", "sanctions", "leans_supports")  # same side: not a flip
    world.say("tokayev", "sanctions", "opposes")  # flip
    rows = world.deliveries(flips)
    assert len(rows) == 1
    data = json.loads(rows[0].payload)["data"]
    assert data["flip"] is True
    assert (data["previous"]["stance"], data["current"]["stance"]) == ("leans_supports", "opposes")


def test_the_payload_carries_both_snapshots_and_the_position(world: World) -> None:
    subscription, _ = world.subscribe(URL)
    first = world.say("lukashenko", "war-justified", "supports")
    second = world.say("lukashenko", "war-justified", "neutral")
    rows = world.deliveries(subscription)
    assert len(rows) == 2
    document = json.loads(rows[1].payload)
    assert document["type"] == "stance.changed"
    assert document["timestamp"].endswith("Z")
    data = document["data"]
    assert (data["actor"], data["topic"], data["flip"]) == ("lukashenko", "war-justified", False)
    assert data["previous"] == {
        "stance": "supports",
        "since": "2024-01-02T00:00:00Z",
        "statement_id": str(first),
    }
    assert data["current"] == {
        "stance": "neutral",
        "since": "2024-01-03T00:00:00Z",
        "statement_id": str(second),
    }
    assert data["position"] == rows[1].position
    assert json.loads(rows[0].payload)["data"]["previous"] is None


def test_a_correction_of_the_current_statement_shows_its_old_version_as_previous(
    world: World,
) -> None:
    subscription, _ = world.subscribe(URL)
    statement = world.say("lukashenko", "war-justified", "supports")
    world.correct(statement, stance="opposes", stated_at=BASE + timedelta(days=10))
    data = json.loads(world.deliveries(subscription)[-1].payload)["data"]
    assert data["previous"]["since"] == "2024-01-02T00:00:00Z"
    assert data["current"]["since"] == "2024-01-11T00:00:00Z"
    assert data["previous"]["statement_id"] == data["current"]["statement_id"] == str(statement)


def test_a_correction_moving_a_statement_announces_both_pairs(world: World) -> None:
    subscription, _ = world.subscribe(URL)
    statement = world.say("lukashenko", "war-justified", "supports")
    world.correct(statement, actor_id="tokayev")
    rows = world.deliveries(subscription)
    assert len(rows) == 3
    moved = rows[1:]
    assert {(r.actor_id, r.topic_id) for r in moved} == {
        ("lukashenko", "war-justified"),
        ("tokayev", "war-justified"),
    }
    assert moved[0].position == moved[1].position and moved[0].id != moved[1].id
    gone = next(r for r in moved if r.actor_id == "lukashenko")
    assert json.loads(gone.payload)["data"]["current"] is None


def test_disabled_and_deleted_subscriptions_get_nothing(world: World) -> None:
    disabled, _ = world.subscribe(URL)
    deleted, _ = world.subscribe(URL)
    now = datetime.now(UTC)
    with world.database.write() as session:
        set_enabled(session.connection(), disabled, enabled=False, now=now)
        delete_subscription(session.connection(), deleted, now=now)
    world.say("lukashenko", "war-justified", "supports")
    assert world.deliveries() == []


def test_writing_the_same_changes_again_is_a_no_op(world: World) -> None:
    subscription, _ = world.subscribe(URL)
    world.say("lukashenko", "war-justified", "supports")
    row = world.deliveries(subscription)[0]
    change = {
        "position": row.position,
        "actor_id": "lukashenko",
        "topic_id": "war-justified",
        "from_stance": None,
        "to_stance": "supports",
        "flip": False,
        "statement_id": uuid.uuid4(),
        "previous_statement_id": None,
        "since": BASE,
        "event_type": "StatementRecorded",
        "event_id": uuid.uuid4(),
        "recorded_at": datetime.now(UTC),
    }
    with world.database.write() as session:
        write_outbox(session.connection(), [change])
        write_outbox(session.connection(), [change])
    rows = world.deliveries(subscription)
    assert len(rows) == 2
    assert rows[1].id == outbox_key(
        event_id=change["event_id"],
        subscription_id=subscription,
        actor_id="lukashenko",
        topic_id="war-justified",
    )


def test_a_rebuild_announces_nothing_again(world: World) -> None:
    world.subscribe(URL)
    past = world.say("lukashenko", "war-justified", "supports")
    world.say("lukashenko", "war-justified", "opposes")
    world.correct(past, stance="neutral")
    before = world.deliveries()
    assert [row.event_type for row in before] == ["stance.changed"] * 2 + ["stance.revised"]
    world.services.projector.rebuild()
    assert world.deliveries() == before
    with world.database.read() as session:
        count = session.connection().execute(deliveries_table.select()).all()
    assert len(count) == 3


def _revisions(world: World, subscription: uuid.UUID) -> list[dict[str, Any]]:
    rows = [r for r in world.deliveries(subscription) if r.event_type == "stance.revised"]
    return [json.loads(r.payload) for r in rows]


def test_a_correction_no_stance_label_notices_queues_nothing(world: World) -> None:
    subscription, _ = world.subscribe(URL)
    past = world.say("lukashenko", "war-justified", "supports")  # day 1
    again = world.say("lukashenko", "war-justified", "supports")  # day 2
    world.say("lukashenko", "war-justified", "opposes")  # day 3
    world.correct(past, quote="what was really said", kind="direct_quote")
    world.correct(again, stated_at=BASE + timedelta(days=1, hours=12))  # still "supports" then
    assert [r.event_type for r in world.deliveries(subscription)] == ["stance.changed"] * 2


def test_one_revised_message_lists_every_stretch_the_correction_moved(world: World) -> None:
    subscription, _ = world.subscribe(URL)
    world.say("tokayev", "sanctions", "supports")  # day 1
    moved = world.say("tokayev", "sanctions", "opposes")  # day 2
    world.say("tokayev", "sanctions", "neutral")  # day 3
    world.say("tokayev", "sanctions", "leans_supports")  # day 4, the current stance
    world.correct(moved, stated_at=BASE + timedelta(days=3, hours=12))  # said late on day 3
    [document] = _revisions(world, subscription)
    data = document["data"]
    assert len(world.deliveries(subscription)) == 5
    assert (data["actor"], data["topic"], data["cause"], data["flip"]) == (
        "tokayev",
        "sanctions",
        "corrected",
        True,
    )
    spans = [
        (r["from"], r["until"], r["before"]["stance"], r["after"]["stance"], r["flip"])
        for r in data["revisions"]
    ]
    assert spans == [
        ("2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z", "opposes", "supports", True),
        ("2024-01-04T12:00:00Z", "2024-01-05T00:00:00Z", "neutral", "opposes", False),
    ]
    assert data["revisions"][1]["after"]["since"] == "2024-01-04T12:00:00Z"
    assert data["revisions"][1]["before"]["since"] == "2024-01-04T00:00:00Z"


def test_a_correction_that_also_moves_the_current_stance_is_changed_only(world: World) -> None:
    subscription, _ = world.subscribe(URL)
    world.say("lukashenko", "sanctions", "supports")  # day 1
    current = world.say("lukashenko", "sanctions", "opposes")  # day 2
    # Said a day earlier and milder: day 1 to 2 changes too, but the news is the current stance.
    world.correct(current, stance="leans_opposes", stated_at=BASE + timedelta(days=1, hours=12))
    rows = world.deliveries(subscription)
    assert [r.event_type for r in rows] == ["stance.changed"] * 3
    data = json.loads(rows[-1].payload)["data"]
    assert (data["previous"]["stance"], data["current"]["stance"]) == ("opposes", "leans_opposes")


def test_statements_about_the_past_that_arrive_late_are_not_revisions(world: World) -> None:
    subscription, _ = world.subscribe(URL)
    world.say("tokayev", "war-justified", "supports", stated_at=BASE + timedelta(days=30))
    world.say("tokayev", "war-justified", "opposes", stated_at=BASE + timedelta(days=10))
    waiting = uuid.uuid4()
    world.services.bus.execute(
        RecordStatement(
            statement_id=waiting,
            actor_id="tokayev",
            topic_id="war-justified",
            stance="neutral",
            quote="tokayev, unsure",
            stated_at=BASE + timedelta(days=20),
            kind="paraphrase",
            source=SOURCE,
            confidence=0.01,  # waits for review
        )
    )
    world.services.bus.execute(ApproveStatement(waiting))
    assert [r.event_type for r in world.deliveries(subscription)] == ["stance.changed"]
    world.retract(waiting)  # but taking it out again fixes the record
    [document] = _revisions(world, subscription)
    assert document["data"]["cause"] == "retracted"
    assert document["data"]["revisions"][0]["after"]["stance"] == "opposes"


def test_writing_the_same_revisions_again_is_a_no_op(world: World) -> None:
    subscription, _ = world.subscribe(URL)
    statement = uuid.uuid4()
    revision = {
        "position": 7,
        "actor_id": "lukashenko",
        "topic_id": "war-justified",
        "flip": True,
        "stretches": [
            {
                "valid_from": BASE,
                "valid_until": BASE + timedelta(days=1),
                "before": {"stance": "supports", "since": BASE, "statement_id": statement},
                "after": {"stance": "opposes", "since": BASE, "statement_id": statement},
                "flip": True,
            }
        ],
        "event_type": "StatementCorrected",
        "event_id": uuid.uuid4(),
        "recorded_at": datetime.now(UTC),
    }
    with world.database.write() as session:
        write_outbox(session.connection(), [revision])
        write_outbox(session.connection(), [revision])
    [row] = world.deliveries(subscription)
    assert row.event_type == "stance.revised"
    assert row.id == outbox_key(
        event_id=revision["event_id"],
        subscription_id=subscription,
        actor_id="lukashenko",
        topic_id="war-justified",
    )
    assert json.loads(row.payload)["data"]["revisions"][0]["flip"] is True
