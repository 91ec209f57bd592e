"""Dashboard tests: the app through TestClient on SQLite and PostgreSQL, with the demo loaded.

The HTTP fixtures are the API tests' own (``tests/api/conftest.py``), so the pages are tested on
the same app, settings and databases as the routes they sit beside.
"""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.demo.loader import DemoLoadReport, load_demo
from tests.api.conftest import (  # noqa: F401  (fixtures)
    client,
    db,
    make_client,
    make_key,
    make_settings,
)


@pytest.fixture
def demo(client: TestClient) -> DemoLoadReport:  # noqa: F811
    """The demo data set, loaded through the app's own command bus."""
    report = load_demo(client.app.state.runtime.services.bus)  # type: ignore[attr-defined]
    assert report.appended > 0
    return report


@pytest.fixture
def writer(make_key: Callable[..., str]) -> dict[str, str]:  # noqa: F811
    return {"Authorization": f"Bearer {make_key('newsroom')}"}


def statement(**overrides: Any) -> dict[str, Any]:
    return {
        "actor_id": "rahmon",
        "topic_id": "war-justified",
        "stance": "neutral",
        "quote": "Tajikistan calls for a peaceful settlement.",
        "stated_at": "2022-06-01",
        "kind": "paraphrase",
        "source": {"url": "https://example.org/wire/1", "title": "Wire", "publisher": "Example"},
        **overrides,
    }
