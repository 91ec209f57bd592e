"""Parsing: RSS, Atom, JSON Feed and statement feeds served over HTTP, dedup keys, hostile XML."""

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from service.domain.stances import Stance
from service.domain.values import RecordingMethod
from service.feeds.fetch import FetchStatus, fetch
from service.feeds.items import FeedError
from service.feeds.parse import UnsafeXml, parse_feed
from service.feeds.statements import parse_statements
from tests.feeds.conftest import USER_AGENT

RSS20 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Minsk Monitor</title><ttl>90</ttl>
<item><guid>urn:item:1</guid><link>https://example.org/1</link>
<title>Lukashenko rules out troops</title>
<description>&lt;p&gt;Lukashenko &lt;b&gt;ruled out&lt;/b&gt; sending troops.&lt;/p&gt;
&lt;script&gt;x()&lt;/script&gt;</description>
<pubDate>Wed, 01 Jun 2022 09:00:00 GMT</pubDate><author>desk@example.org</author></item>
<item><link>https://example.org/2</link><title>Second</title><description>Two</description></item>
</channel></rss>"""
RSS10 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://example.org/"><title>RDF wire</title><link>https://example.org/</link>
<description>d</description></channel>
<item rdf:about="https://example.org/a"><title>A</title><link>https://example.org/a</link>
<description>Alpha</description></item></rdf:RDF>"""
RSS091 = """<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old wire</title><link>https://example.org/</link>
<description>d</description><language>en</language>
<item><title>Old item</title><link>https://example.org/old</link><description>Old</description></item>
</channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Steppe Dispatch</title><id>urn:feed</id>
<updated>2022-06-01T09:00:00Z</updated>
<entry><id>urn:entry:1</id><title>Tokayev</title><link href="/e1"/>
<updated>2022-06-01T09:00:00Z</updated><author><name>Desk</name></author>
<content type="html">&lt;p&gt;Tokayev said it.&lt;/p&gt;
&lt;p&gt;Second paragraph.&lt;/p&gt;</content></entry>
</feed>"""
JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Tashkent Times",
    "items": [
        {"id": 42, "url": "https://example.org/42", "title": "Numeric id",
         "content_html": "<p>Kamilov spoke.</p>", "date_published": "2022-06-01T09:00:00+03:00",
         "authors": [{"name": "A. Writer"}]},
        {"url": "https://example.org/no-id", "content_text": "dropped"},
        {"id": "b", "content_text": "plain text", "summary": "s"},
    ],
}  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "content_type", "format_", "title"),
    [
        (RSS20, "application/rss+xml", "rss20", "Minsk Monitor"),
        (RSS10, "application/rdf+xml", "rss10", "RDF wire"),
        (RSS091, "text/xml", "rss091n", "Old wire"),
        (ATOM, "application/atom+xml", "atom10", "Steppe Dispatch"),
        (json.dumps(JSON_FEED), "application/feed+json", "json-feed", "Tashkent Times"),
    ],
)
async def test_feeds_served_over_http_parse(
    httpserver: HTTPServer, client, body, content_type, format_, title
):
    httpserver.expect_request("/feed").respond_with_data(body, content_type=content_type)
    fetched = await fetch(client, httpserver.url_for("/feed"), user_agent=USER_AGENT)
    assert fetched.status is FetchStatus.OK
    parsed = parse_feed(fetched.body, content_type=fetched.content_type, url=fetched.url)
    assert parsed.format.startswith(format_)
    assert parsed.title == title
    assert parsed.items
    assert all(len(item.guid_hash) == 64 for item in parsed.items)


def test_rss_item_fields_and_html_stripped_to_text():
    parsed = parse_feed(RSS20.encode())
    first, second = parsed.items
    assert first.guid == "urn:item:1"
    assert first.link == "https://example.org/1"
    assert first.text == "Lukashenko ruled out sending troops."
    assert first.published_at is not None and first.published_at.isoformat().startswith(
        "2022-06-01"
    )
    assert first.author == "desk@example.org"
    assert parsed.ttl is not None and parsed.ttl.total_seconds() == 90 * 60
    assert second.guid is None and second.link == "https://example.org/2"
    assert first.guid_hash != second.guid_hash


def test_atom_relative_links_resolve_and_paragraphs_stay_apart():
    parsed = parse_feed(ATOM.encode(), url="https://example.org/feeds/atom.xml")
    (entry,) = parsed.items
    assert entry.link == "https://example.org/e1"
    assert entry.text == "Tokayev said it.\nSecond paragraph."
    assert entry.author == "Desk"


def test_json_feed_drops_items_without_id_and_stringifies_numbers():
    parsed = parse_feed(json.dumps(JSON_FEED).encode(), content_type="application/feed+json")
    assert [item.guid for item in parsed.items] == ["42", "b"]
    assert parsed.items[0].text == "Kamilov spoke."
    assert parsed.items[0].published_at is not None
    assert parsed.items[0].published_at.hour == 6  # 09:00+03:00 in UTC
    assert any("no id" in warning for warning in parsed.warnings)


def test_dedup_keys_are_stable_and_repeated_guids_are_disambiguated():
    items = "".join(
        f"<item><guid>same</guid><title>{title}</title><description>{text}</description></item>"
        for title, text in [("A", "one"), ("B", "two"), ("A", "one")]
    )
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    first, again = parse_feed(body), parse_feed(body)
    assert [i.guid_hash for i in first.items] == [i.guid_hash for i in again.items]
    assert len(first.items) == 2  # the exact repeat is dropped, the different one kept
    assert len({i.guid_hash for i in first.items}) == 2
    assert any("repeated identifier" in w for w in first.warnings)


def test_item_without_guid_or_link_is_keyed_by_content():
    body = b"<rss version='2.0'><channel><title>t</title><item><title>Only a title</title></item>"
    body += b"<item><title>Another</title></item></channel></rss>"
    parsed = parse_feed(body)
    assert len({item.guid_hash for item in parsed.items}) == 2


def test_ill_formed_feed_gives_what_it_can_and_a_warning():
    body = b"<rss version='2.0'><channel><title>Broken</title><item><title>Kept & fine</title>"
    body += b"<link>https://example.org/k</link></item><item><title>Unclosed"
    parsed = parse_feed(body)
    assert parsed.items and parsed.items[0].link == "https://example.org/k"
    assert any("ill-formed" in warning for warning in parsed.warnings)


def test_garbage_is_a_feed_error_not_a_crash():
    with pytest.raises(FeedError):
        parse_feed(b"\x00\x01 this is not a feed at all")
    with pytest.raises(FeedError):
        parse_feed(b'{"not": "a feed"}')
    with pytest.raises(FeedError):
        parse_feed(b"{" * 100_000)  # nesting too deep for the JSON decoder


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title></item></channel></rss>"""
QUADRATIC = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "' + "x" * 50_000 + '">]>'
    "<rss version='2.0'><channel><title>" + "&a;" * 50_000 + "</title></channel></rss>"
)
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&xxe;</title><item><title>&xxe;</title></item></channel></rss>"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>
<rss version="2.0"><channel><title>t</title></channel></rss>"""


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS.encode(),
        QUADRATIC.encode(),
        EXTERNAL_ENTITY.encode(),
        PARAMETER_ENTITY.encode(),
        EXTERNAL_ENTITY.encode("utf-16"),  # the check sees what the parser would see
        EXTERNAL_ENTITY.replace('"1.0"?>', '"1.0" encoding="utf-7"?>', 1)
        .replace("<!ENTITY", "+ADw-!ENTITY")
        .encode(),
    ],
    ids=["billion-laughs", "quadratic", "external-entity", "parameter-entity", "utf-16", "utf-7"],
)
def test_entity_declarations_are_refused_before_parsing(document: bytes):
    with pytest.raises(UnsafeXml):
        parse_feed(document)


@pytest.mark.anyio
async def test_hostile_documents_served_over_http_are_harmless(httpserver: HTTPServer, client):
    httpserver.expect_request("/lol").respond_with_data(BILLION_LAUGHS, content_type="text/xml")
    httpserver.expect_request("/xxe").respond_with_data(EXTERNAL_ENTITY, content_type="text/xml")
    for path in ("/lol", "/xxe"):
        fetched = await fetch(client, httpserver.url_for(path), user_agent=USER_AGENT)
        with pytest.raises(UnsafeXml):
            parse_feed(fetched.body, content_type=fetched.content_type)


def test_external_dtd_without_entities_reads_no_file():
    passwd = Path("/etc/passwd")
    document = (
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file:///etc/passwd">'
        b"<rss version='2.0'><channel><title>t</title><item><title>x</title></item>"
        b"</channel></rss>"
    )
    parsed = parse_feed(document)
    seen = " ".join([parsed.title or ""] + [i.title + i.text for i in parsed.items])
    assert parsed.items
    if passwd.exists():
        assert "root:" not in seen


def test_a_body_that_is_a_file_name_is_not_read_from_disk():
    with pytest.raises(FeedError):
        parse_feed(b"/etc/passwd")


STATEMENTS = {
    "statements": [
        {
            "statement_id": "9f1c1c52-64c1-4c36-8d43-1f3b5b0a3c11",
            "actor_id": "lukashenko",
            "topic_id": "belarus-troops-to-ukraine",
            "stance": "opposes",
            "quote": "We will not send troops.",
            "stated_at": "2022-06-01T09:00:00Z",
            "kind": "direct_quote",
            "source": {"url": "https://example.org/s1", "title": "T", "publisher": "P",
                       "published_at": "2022-06-01T10:00:00Z"},
            "confidence": 0.9,
        },
        {
            "actor_id": "tokayev", "topic_id": "ukraine-sovereignty", "stance": "supports",
            "quote": "q", "stated_at": "2022-06-02T09:00:00", "kind": "paraphrase",
            "source": {"url": "https://example.org/s2", "title": "T", "publisher": "P"},
        },
        {"actor_id": "putin", "topic_id": "war-justified", "stance": "loves", "quote": "q",
         "stated_at": "2022-06-01T09:00:00Z", "kind": "paraphrase",
         "source": {"url": "https://example.org/s3", "title": "T", "publisher": "P"}},
    ]
}  # fmt: skip


@pytest.mark.anyio
async def test_statements_feed_served_over_http(httpserver: HTTPServer, client):
    httpserver.expect_request("/statements").respond_with_json(STATEMENTS)
    fetched = await fetch(client, httpserver.url_for("/statements"), user_agent=USER_AGENT)
    parsed = parse_statements(fetched.body, feed_id="partner")
    first, second = (entry.command for entry in parsed.entries)
    assert str(first.statement_id) == "9f1c1c52-64c1-4c36-8d43-1f3b5b0a3c11"
    assert (first.stance, first.confidence, first.method) == (
        Stance.OPPOSES,
        0.9,
        RecordingMethod.FEED,
    )
    assert first.source.published_at is not None
    assert second.stated_at.tzinfo is not None  # a naive time is read as UTC
    assert len(parsed.entries) == 2
    assert any("statements[2]" in warning for warning in parsed.warnings)


def test_statement_ids_are_deterministic_without_an_id():
    body = json.dumps(STATEMENTS).encode()
    once = parse_statements(body, feed_id="partner").entries[1]
    again = parse_statements(body, feed_id="partner").entries[1]
    other_feed = parse_statements(body, feed_id="other").entries[1]
    assert once.command.statement_id == again.command.statement_id
    assert once.guid_hash == again.guid_hash
    assert once.command.statement_id != other_feed.command.statement_id


def test_not_a_statements_document_is_a_feed_error():
    with pytest.raises(FeedError):
        parse_statements(b'{"items": []}', feed_id="f")
