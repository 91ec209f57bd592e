"""The OpenAPI document: problem+json errors, examples, and the auth each operation needs."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from fastapi.testclient import TestClient

from service.api.deps import WriterDep
from service.api.openapi import WRITE_PROBLEMS
from service.api.problems import PROBLEM_MEDIA_TYPE
from service.api.webhook_messages import StanceChangedMessage, StanceRevisedMessage
from service.app import create_app
from service.webhooks.payload import (
    EventType,
    RevisedStretch,
    StanceSnapshot,
    stance_changed_payload,
    stance_revised_payload,
)
from tests.api.conftest import Thing

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def test_openapi_documents_errors_as_problems(client):
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert {"Problem", "FieldError"} <= set(schemas)
    assert "HTTPValidationError" not in schemas
    assert schemas["Problem"]["examples"]
    events = document["paths"]["/v1/events"]["get"]
    for status in ("401", "422"):
        assert events["responses"][status]["content"] == {
            PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}
        }
    assert schemas["EventPage"]["examples"]
    stream = document["paths"]["/v1/events/stream"]["get"]["responses"]
    assert "text/event-stream" in stream["200"]["content"]
    assert "400" in stream


def test_reads_are_optionally_authenticated_when_public(client):
    document = client.get("/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"ApiKey"}
    assert document["paths"]["/v1/events"]["get"]["security"] == [{}, {"ApiKey": []}]
    assert "/_probe/things" not in document["paths"]


def test_reads_require_a_key_when_private(make_client):
    document = make_client(public_reads=False).get("/openapi.json").json()
    assert document["paths"]["/v1/events"]["get"]["security"] == [{"ApiKey": []}]


def test_docs_are_served(client):
    response = client.get("/docs")
    assert response.status_code == 200 and "swagger" in response.text.lower()


def test_writes_require_a_key_and_document_their_problems(make_settings):
    router = APIRouter()

    @router.post("/v1/things", status_code=201, responses=WRITE_PROBLEMS)
    def create_thing(thing: Thing, principal: WriterDep) -> dict[str, str]:
        return {"recorded_by": principal.recorded_by}

    app = create_app(make_settings())
    app.include_router(router)
    with TestClient(app) as client:
        operation = client.get("/openapi.json").json()["paths"]["/v1/things"]["post"]
    assert operation["security"] == [{"ApiKey": []}]
    for status in ("401", "403", "413", "422"):
        assert operation["responses"][status]["content"] == {
            PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}
        }


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_both_webhook_messages_are_documented_as_they_are_sent(client):
    document = client.get("/openapi.json").json()
    webhooks = document["webhooks"]
    assert set(webhooks) == {"stance.changed", "stance.revised"}
    schemas = document["components"]["schemas"]
    for name, model in (("stance.changed", "StanceChanged"), ("stance.revised", "StanceRevised")):
        body = webhooks[name]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model}Message"}
        assert set(webhooks[name]["post"]["responses"]) == {"2XX"}
    assert set(schemas["RevisedStretchMessage"]["properties"]) == {
        "from",
        "until",
        "before",
        "after",
        "flip",
    }
    assert all(ref.removeprefix("#/components/schemas/") in schemas for ref in _refs(document))

    moment = datetime(2024, 3, 1, tzinfo=UTC)
    snapshot = StanceSnapshot("supports", moment, uuid.uuid4())
    later = StanceSnapshot("opposes", moment + timedelta(days=1), uuid.uuid4())
    changed = stance_changed_payload(
        event_type=EventType.CHANGED,
        occurred_at=moment,
        actor="a",
        topic="t",
        previous=snapshot,
        current=later,
        position=3,
    )
    revised = stance_revised_payload(
        occurred_at=moment,
        actor="a",
        topic="t",
        stretches=[RevisedStretch(moment, later.since, snapshot, later)],
        cause="corrected",
        position=4,
    )
    assert StanceChangedMessage.model_validate_json(changed).data.current.stance == "opposes"
    message = StanceRevisedMessage.model_validate_json(revised)
    assert message.data.revisions[0].until == later.since
    assert StanceRevisedMessage.model_validate(json.loads(revised)).model_dump(
        mode="json", by_alias=True
    ) == json.loads(revised)
