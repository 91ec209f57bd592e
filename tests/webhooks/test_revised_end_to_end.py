"""End to end: corrections of the past reach subscribers as ``stance.revised``, verified by a real
receiver on 127.0.0.1 with the ``standardwebhooks`` package; corrections of the present stay
``stance.changed``; a correction no stance label notices sends nothing.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook

from service.webhooks.worker import DeliveryWorker
from tests.webhooks.harness import BASE, Receiver, World, subscribe, wait_for

pytestmark = pytest.mark.anyio

ACTOR, TOPIC = "lukashenko", "war-justified"


def day(n: int) -> str:
    return (BASE + timedelta(days=n)).isoformat().replace("+00:00", "Z")


def verified(endpoint: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every message the endpoint received, verified, in store order."""
    messages = [Webhook(secret).verify(a.body, a.headers) for a in endpoint.received]
    return sorted(messages, key=lambda m: m["data"]["position"])


async def test_corrections_of_the_past_are_revised_and_of_the_present_changed(
    make_api: Callable[..., TestClient],
    writer: dict[str, str],
    world: World,
    worker: DeliveryWorker,
    receiver: HTTPServer,
) -> None:
    api = make_api()
    names = ("all", "actor", "other", "flip")
    endpoints = {name: Receiver(receiver, f"/{name}") for name in names}
    hooks = {
        "all": subscribe(api, writer, endpoints["all"].url),
        "actor": subscribe(api, writer, endpoints["actor"].url, actors=[ACTOR], topics=[TOPIC]),
        "other": subscribe(api, writer, endpoints["other"].url, actors=["tokayev"]),
        "flip": subscribe(api, writer, endpoints["flip"].url, flips_only=True),
    }

    first = world.say(ACTOR, TOPIC, "supports")  # day 1
    second = world.say(ACTOR, TOPIC, "neutral")  # day 2
    third = world.say(ACTOR, TOPIC, "opposes")  # day 3: the current stance
    world.correct(first, stance="leans_supports")  # the past, same side: revised, no flip
    world.correct(first, stance="opposes")  # the past, other side: revised, a flip
    world.correct(second, quote="what was really said")  # no label moves: nothing
    world.retract(second)  # day 2 falls back on the first statement: revised
    world.correct(third, stance="supports")  # the present: changed, a flip
    worker.wake()
    await wait_for(lambda: len(endpoints["all"].received) == 7)
    await wait_for(lambda: len(endpoints["flip"].received) == 2)
    await wait_for(lambda: world.all_sent())

    counts = {name: len(endpoints[name].received) for name in names}
    assert counts == {"all": 7, "actor": 7, "other": 0, "flip": 2}
    messages = verified(endpoints["all"], hooks["all"]["secret"])
    assert verified(endpoints["actor"], hooks["actor"]["secret"]) == messages
    assert [m["type"] for m in messages] == ["stance.changed"] * 3 + ["stance.revised"] * 3 + [
        "stance.changed"
    ]
    revised = [m["data"] for m in messages if m["type"] == "stance.revised"]
    assert all((d["actor"], d["topic"]) == (ACTOR, TOPIC) for d in revised)
    assert [d["cause"] for d in revised] == ["corrected", "corrected", "retracted"]
    assert [d["flip"] for d in revised] == [False, True, False]

    def snapshot(stance: str, since: int, statement: Any) -> dict[str, Any]:
        return {"stance": stance, "since": day(since), "statement_id": str(statement)}

    assert [d["revisions"] for d in revised] == [
        [
            {
                "from": day(1),
                "until": day(2),
                "before": snapshot("supports", 1, first),
                "after": snapshot("leans_supports", 1, first),
                "flip": False,
            }
        ],
        [
            {
                "from": day(1),
                "until": day(2),
                "before": snapshot("leans_supports", 1, first),
                "after": snapshot("opposes", 1, first),
                "flip": True,
            }
        ],
        [
            {
                "from": day(2),
                "until": day(3),
                "before": snapshot("neutral", 2, second),
                "after": snapshot("opposes", 1, first),
                "flip": False,
            }
        ],
    ]
    last = messages[-1]["data"]
    assert (last["previous"]["stance"], last["current"]["stance"], last["flip"]) == (
        "opposes",
        "supports",
        True,
    )

    flips = verified(endpoints["flip"], hooks["flip"]["secret"])
    assert [(m["type"], m["data"]["position"]) for m in flips] == [
        ("stance.revised", revised[1]["position"]),
        ("stance.changed", last["position"]),
    ]

    log = api.get(f"/v1/webhooks/{hooks['actor']['id']}/deliveries", headers=writer).json()
    types = sorted((d["position"], d["event_type"]) for d in log["items"])
    assert [t for _, t in types] == [m["type"] for m in messages]
    assert len({d["message_id"] for d in log["items"]}) == 7


async def test_a_correction_that_moves_a_statement_revises_the_pair_it_left(
    make_api: Callable[..., TestClient],
    writer: dict[str, str],
    world: World,
    worker: DeliveryWorker,
    receiver: HTTPServer,
) -> None:
    api = make_api()
    endpoint = Receiver(receiver)
    hook = subscribe(api, writer, endpoint.url)
    misattributed = world.say(ACTOR, TOPIC, "opposes")  # day 1
    world.say(ACTOR, TOPIC, "supports")  # day 2
    world.say("tokayev", TOPIC, "supports")  # day 3
    # The day-1 statement was Tokayev's: Lukashenko's past loses it, Tokayev's gains it.
    world.correct(misattributed, actor_id="tokayev")
    worker.wake()
    await wait_for(lambda: len(endpoint.received) == 5)
    await wait_for(lambda: world.all_sent())

    messages = verified(endpoint, hook["secret"])
    moved = [m for m in messages if m["type"] == "stance.revised"]
    assert len(messages) == 5 and len(moved) == 2
    assert len({m["data"]["position"] for m in moved}) == 1
    by_actor = {m["data"]["actor"]: m["data"]["revisions"] for m in moved}
    assert by_actor[ACTOR] == [
        {
            "from": day(1),
            "until": day(2),
            "before": {"stance": "opposes", "since": day(1), "statement_id": str(misattributed)},
            "after": None,
            "flip": False,
        }
    ]
    assert by_actor["tokayev"] == [
        {
            "from": day(1),
            "until": day(3),
            "before": None,
            "after": {"stance": "opposes", "since": day(1), "statement_id": str(misattributed)},
            "flip": False,
        }
    ]
