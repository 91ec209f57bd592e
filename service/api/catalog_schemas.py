"""Request and response schemas of the actor and topic catalog."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.queries import ActorView, TopicView

Slug = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")


class ActorIn(BaseModel):
    """A leader, group, institution or state whose positions are tracked."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "actor_id": "lukashenko",
                    "name": "Alexander Lukashenko",
                    "kind": "person",
                    "country": "BY",
                    "role": "President of Belarus",
                    "aliases": ["Lukashenka", "Łukašenka"],
                    "wikidata_id": "Q51633",
                }
            ]
        },
    )

    actor_id: str = Slug
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["person", "group", "institution", "state"]
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    role: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list, max_length=50)
    wikidata_id: str | None = Field(default=None, pattern=r"^Q[1-9][0-9]*$")


class ActorOut(BaseModel):
    actor_id: str
    name: str
    kind: str
    country: str | None
    role: str | None
    aliases: list[str]
    wikidata_id: str | None

    @classmethod
    def of(cls, view: ActorView) -> "ActorOut":
        return cls(**view.__dict__)


class CuesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opposes: list[str] = Field(default_factory=list, max_length=100)
    leans_opposes: list[str] = Field(default_factory=list, max_length=100)
    neutral: list[str] = Field(default_factory=list, max_length=100)
    leans_supports: list[str] = Field(default_factory=list, max_length=100)
    supports: list[str] = Field(default_factory=list, max_length=100)


class TopicIn(BaseModel):
    """A topic phrased as a proposition; "supports" means agreeing with it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "topic_id": "war-justified",
                    "title": "Russia's war against Ukraine",
                    "proposition": "Russia's war against Ukraine is justified",
                    "keywords": ["war", "special military operation"],
                    "cues": {"supports": ["backs the war"], "opposes": ["condemns the war"]},
                }
            ]
        },
    )

    topic_id: str = Slug
    title: str = Field(min_length=1, max_length=200)
    proposition: str = Field(min_length=1, max_length=500)
    keywords: list[str] = Field(default_factory=list, max_length=100)
    cues: CuesIn = Field(default_factory=CuesIn)


class TopicOut(BaseModel):
    topic_id: str
    title: str
    proposition: str
    keywords: list[str]
    cues: dict[str, Any]

    @classmethod
    def of(cls, view: TopicView) -> "TopicOut":
        return cls(**view.__dict__)


class CatalogWritten(BaseModel):
    id: str
    position: int
    duplicate: bool


class ActorPage(BaseModel):
    items: list[ActorOut]
    next_cursor: str | None


class TopicPage(BaseModel):
    items: list[TopicOut]
    next_cursor: str | None
