"""Quotes, names and sources come from feeds and API clients: untrusted text, escaped on every
page, and never a link unless http(s)."""

from fastapi.testclient import TestClient

from service.web.templating import safe_href, shown_url
from tests.web.conftest import statement

HOSTILE = '</q></span><script>alert("quote")</script><img src=x onerror="alert(1)">'


def test_a_hostile_quote_is_escaped_everywhere(client: TestClient, writer: dict[str, str]) -> None:
    actor = {
        "actor_id": "rahmon",
        "name": "Emomali <b>Rahmon</b>",
        "kind": "person",
        "country": "TJ",
        "role": "<i>President</i>",
    }
    topic = {"topic_id": "war-justified", "title": "War <script>", "proposition": 'It is "just"'}
    assert client.post("/v1/actors", json=actor, headers=writer).status_code == 201
    assert client.post("/v1/topics", json=topic, headers=writer).status_code == 201
    hostile = statement(
        quote=HOSTILE,
        source={
            "url": 'https://example.org/"><script>',
            "title": "<script>t</script>",
            "publisher": "<u>Wire</u>",
        },
    )
    posted = client.post("/v1/statements", json=hostile, headers=writer)
    assert posted.status_code == 201, posted.text
    for path in ("/", "/actors/rahmon", "/actors/rahmon/war-justified", "/events"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
        assert "<b>Rahmon</b>" not in page.text and "<i>President</i>" not in page.text, path
        assert "<script>t</script>" not in page.text and "<u>Wire</u>" not in page.text, path
        assert page.text.count("<script") == page.text.count('<script src="/static/'), path
    timeline = client.get("/actors/rahmon/war-justified").text
    assert "&lt;script&gt;alert(&#34;quote&#34;)&lt;/script&gt;" in timeline
    assert 'href="https://example.org/%22%3E%3Cscript%3E"' in timeline  # as the API stored it


def test_only_http_urls_become_links() -> None:
    assert safe_href("https://example.org/a") == "https://example.org/a"
    assert safe_href(" http://example.org ") == "http://example.org"
    assert safe_href("javascript:alert(1)") is None
    assert safe_href("JaVaScRiPt:alert(1)") is None
    assert safe_href("data:text/html,<script>") is None
    assert safe_href("//evil.example/") is None
    assert safe_href(None) is None


def test_shown_urls_lose_credentials_and_query_values() -> None:
    assert shown_url("https://user:pw@hooks.example.org:8443/x?token=1") == (
        "https://hooks.example.org:8443/x?…"
    )
    assert shown_url("https://example.org/feed.xml") == "https://example.org/feed.xml"


def test_pages_carry_no_inline_code(client: TestClient) -> None:
    page = client.get("/events")
    assert '<script src="/static/events.js" defer></script>' in page.text
    assert "onerror" not in page.text and "javascript:" not in page.text
