"""The OpenAPI document: problem+json errors, examples, and the auth each operation needs."""

from fastapi import APIRouter
from fastapi.testclient import TestClient

from service.api.deps import WriterDep
from service.api.openapi import WRITE_PROBLEMS
from service.api.problems import PROBLEM_MEDIA_TYPE
from service.app import create_app
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
