"""End to end: subscriptions made over HTTP, statements through the command bus, a running worker,
and a real receiver on 127.0.0.1 that verifies every message with the ``standardwebhooks`` package.
"""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from service.webhooks.worker import DeliveryWorker
from tests.webhooks.harness import Receiver, World, subscribe, wait_for

pytestmark = pytest.mark.anyio


async def test_a_stance_change_reaches_exactly_the_matching_subscribers(
    make_api: Callable[..., TestClient],
    writer: dict[str, str],
    world: World,
    worker: DeliveryWorker,
    receiver: HTTPServer,
) -> None:
    api = make_api()
    endpoints = {name: Receiver(receiver, f"/{name}") for name in ("all", "actor", "other", "flip")}
    hooks = {
        "all": subscribe(api, writer, endpoints["all"].url),
        "actor": subscribe(api, writer, endpoints["actor"].url, actors=["lukashenko"]),
        "other": subscribe(
            api, writer, endpoints["other"].url, actors=["tokayev"], topics=["sanctions"]
        ),
        "flip": subscribe(api, writer, endpoints["flip"].url, flips_only=True),
    }

    def say(stance: str) -> None:
        world.say("lukashenko", "war-justified", stance)
        worker.wake()  # what the process's write path does after each commit

    say("supports")
    await wait_for(lambda: len(endpoints["actor"].received) == 1)
    say("leans_supports")  # a change, not a flip
    say("leans_supports")  # the label does not change: nothing to announce
    say("opposes")  # a flip
    await wait_for(lambda: len(endpoints["all"].received) == 3 and endpoints["flip"].received)
    await wait_for(lambda: all(row.status == "delivered" for row in world.deliveries()))

    counts = {name: len(endpoint.received) for name, endpoint in endpoints.items()}
    assert counts == {"all": 3, "actor": 3, "other": 0, "flip": 1}
    for name in ("all", "actor", "flip"):
        secret = hooks[name]["secret"]
        messages = [
            Webhook(secret).verify(arrival.body, arrival.headers)
            for arrival in endpoints[name].received
        ]
        assert {m["type"] for m in messages} == {"stance.changed"}
        assert len({a.webhook_id for a in endpoints[name].received}) == len(messages)
    stances = sorted(
        (m["data"]["position"], m["data"]["current"]["stance"])
        for m in (
            Webhook(hooks["all"]["secret"]).verify(a.body, a.headers)
            for a in endpoints["all"].received
        )
    )
    assert [stance for _, stance in stances] == ["supports", "leans_supports", "opposes"]
    flip = Webhook(hooks["flip"]["secret"]).verify(
        endpoints["flip"].received[0].body, endpoints["flip"].received[0].headers
    )
    assert flip["data"]["flip"] is True and flip["data"]["previous"]["stance"] == "leans_supports"

    log = api.get(f"/v1/webhooks/{hooks['actor']['id']}/deliveries", headers=writer).json()["items"]
    assert [d["status"] for d in log] == ["delivered"] * 3
    assert all(len(d["attempt_log"]) == 1 for d in log)
    attempt = log[0]["attempt_log"][0]
    assert attempt["status_code"] == 200 and attempt["duration_ms"] >= 0
    assert attempt["error"] is None and attempt["next_attempt_at"] is None

    # A manual redelivery goes out again at once, under the same webhook-id.
    again = api.post(
        f"/v1/webhooks/{hooks['actor']['id']}/deliveries/{log[0]['id']}/retry", headers=writer
    )
    assert again.status_code == 202
    worker.wake()
    await wait_for(lambda: len(endpoints["actor"].received) == 4)
    assert endpoints["actor"].received[-1].webhook_id == log[0]["message_id"]


async def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(
    make_api: Callable[..., TestClient],
    writer: dict[str, str],
    world: World,
    worker: DeliveryWorker,
    receiver: HTTPServer,
) -> None:
    api = make_api()
    endpoint = Receiver(receiver)
    hook = subscribe(api, writer, endpoint.url)
    old = hook["secret"]
    new = api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=writer).json()["secret"]
    stranger = subscribe(api, writer, "http://127.0.0.1:9/elsewhere")["secret"]

    world.say("tokayev", "sanctions", "supports")
    worker.wake()
    await wait_for(lambda: len(endpoint.received) == 1)

    [arrival] = endpoint.received
    signatures = arrival.headers["Webhook-Signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (old, new):
        verified = Webhook(secret).verify(arrival.body, arrival.headers)
        assert verified["data"]["actor"] == "tokayev"
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(arrival.body, arrival.headers)
