"""The messages subscribers receive, documented in the OpenAPI document's ``webhooks`` section.

The bodies are built by ``service.webhooks.payload`` as bytes (the signature covers exactly what
is sent); these models only describe them, and the tests validate real payloads against them so
the document cannot drift from what is sent.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from service.domain.stances import Stance

_SIGNED = (
    "Signed per the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, "
    "`webhook-signature` headers); any 2xx answer acknowledges it, and the same `webhook-id` "
    "comes again on a retry."
)


class StanceSnapshotMessage(BaseModel):
    """A stance as subscribers see it; ``null`` where there is none."""

    stance: Stance
    since: datetime = Field(description="When the statement it rests on was made (valid time).")
    statement_id: UUID


class StanceChangedData(BaseModel):
    actor: str
    topic: str
    previous: StanceSnapshotMessage | None
    current: StanceSnapshotMessage | None
    flip: bool = Field(description="The stance changed side (supports side ↔ opposes side).")
    position: int = Field(description="The event's position in the log: orders messages.")


class StanceChangedMessage(BaseModel):
    type: Literal["stance.changed"]
    timestamp: datetime = Field(description="When the event was recorded.")
    data: StanceChangedData


class RevisedStretchMessage(BaseModel):
    """Valid times [from, until) whose stance the event moved, and the stance on both sides."""

    model_config = ConfigDict(populate_by_name=True)

    valid_from: datetime = Field(alias="from")
    until: datetime | None = Field(description="Exclusive; null: no end.")
    before: StanceSnapshotMessage | None
    after: StanceSnapshotMessage | None
    flip: bool


class StanceRevisedData(BaseModel):
    actor: str
    topic: str
    revisions: list[RevisedStretchMessage] = Field(
        min_length=1, description="Every stretch of valid time whose stance moved, oldest first."
    )
    flip: bool = Field(description="Some stretch changed side.")
    cause: Literal["corrected", "retracted"]
    position: int = Field(description="The event's position in the log: orders messages.")


class StanceRevisedMessage(BaseModel):
    type: Literal["stance.revised"]
    timestamp: datetime = Field(description="When the correction or retraction was recorded.")
    data: StanceRevisedData


def document_webhooks(app: FastAPI) -> None:
    """Declare both message types on ``app.webhooks``, which only the OpenAPI document reads."""

    @app.webhooks.post(
        "stance.changed",
        operation_id="stanceChanged",
        summary="The current stance moved",
        description="Sent when an (actor, topic)'s current stance changes label: news. " + _SIGNED,
    )
    def stance_changed(body: StanceChangedMessage) -> None: ...

    @app.webhooks.post(
        "stance.revised",
        operation_id="stanceRevised",
        summary="A stance in the past was corrected",
        description="Sent when a correction or retraction changes the stance for some past valid "
        "time but not the current one: a fixed record, never sent with `stance.changed` for the "
        "same (actor, topic) and event. " + _SIGNED,
    )
    def stance_revised(body: StanceRevisedMessage) -> None: ...
