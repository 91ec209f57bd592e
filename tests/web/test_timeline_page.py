"""The actor page and the (actor, topic) timeline: statements with quote, kind, source, stated
and recorded dates; corrections and retractions shown as such; 404 for what does not exist."""

from fastapi.testclient import TestClient

from service.demo.loader import DemoLoadReport
from service.web.templating import iso
from tests.web.conftest import statement


def test_the_corrected_statement_is_shown_as_corrected(
    client: TestClient, demo: DemoLoadReport
) -> None:
    page = client.get("/actors/kamilov/ukraine-sovereignty")
    assert page.status_code == 200
    text = page.text
    assert "Abdulaziz Kamilov on Ukraine&#39;s sovereignty" in text
    assert "Uzbekistan recognizes Ukraine&#39;s independence" in text
    assert "Correction</strong>" in text
    assert "said by Abdulaziz Kamilov, not Shavkat Mirziyoyev" in text
    assert "stated 17 Mar 2022, not 16 May 2022" in text
    assert "Reason: Uzbekistan suspended its CSTO membership in 2012" in text
    assert "First attributed to Shavkat Mirziyoyev on Ukraine&#39;s sovereignty" in text
    assert 'href="https://timeturk.com/en/uzbekistan-supports-territorial-integrity' in text
    assert "direct quote" in text
    assert "recorded <time" in text


def test_the_old_attribution_stays_on_the_old_timeline_struck_through(
    client: TestClient, demo: DemoLoadReport
) -> None:
    now = client.get("/actors/mirziyoyev/ukraine-sovereignty").text
    assert "We recognize the sovereignty of Ukraine." in now
    assert "Corrected away: Abdulaziz Kamilov on Ukraine&#39;s sovereignty" in now
    assert 'class="entry moved' in now
    assert "No counting statement" in now

    assert demo.article_known_at is not None
    then = client.get(
        "/actors/mirziyoyev/ukraine-sovereignty", params={"known_at": iso(demo.article_known_at)}
    ).text
    assert "Corrected away" not in then
    assert "1 later revision not yet known" in then
    assert "Supports</span> since <time" in then


def test_as_of_on_a_timeline_marks_later_statements(
    client: TestClient, demo: DemoLoadReport
) -> None:
    page = client.get("/actors/lukashenko/russian-bases-in-belarus", params={"as_of": "2022-02-25"})
    assert page.status_code == 200
    assert page.text.count("After the chosen date") == 1  # the 27 Feb one, not the 24 Feb one
    assert "Stance as of <time" in page.text


def test_a_retraction_is_shown_as_such(
    client: TestClient, demo: DemoLoadReport, writer: dict[str, str]
) -> None:
    posted = client.post("/v1/statements", json=statement(), headers=writer)
    assert posted.status_code == 201, posted.text
    statement_id = posted.json()["statement_id"]
    retracted = client.post(
        f"/v1/statements/{statement_id}/retraction",
        json={"reason": "The wire withdrew the report."},
        headers=writer,
    )
    assert retracted.status_code in (200, 201), retracted.text
    page = client.get("/actors/rahmon/war-justified").text
    assert "Retracted</span>" in page
    assert "Retraction</strong>" in page and "The wire withdrew the report." in page
    assert 'class="entry retracted' in page
    assert "Retraction</a>" in page  # the stance change it caused, linked to the statement


def test_the_actor_page_lists_every_topic(client: TestClient, demo: DemoLoadReport) -> None:
    page = client.get("/actors/lukashenko")
    assert page.status_code == 200
    assert "Alexander Lukashenko" in page.text and "Lukashenka" in page.text
    assert page.text.count('href="/actors/lukashenko/') == 9
    assert "5 of 9 topics have a stance" in page.text


def test_unknown_actors_and_topics_are_404_pages(client: TestClient, demo: DemoLoadReport) -> None:
    for path in (
        "/actors/nobody",
        "/actors/nobody/war-justified",
        "/actors/putin/nothing",
        "/actors/Not%20A%20Slug",
        "/actors/putin/%3Cscript%3E",
    ):
        page = client.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert "Not found" in page.text
        assert "<script>" not in page.text


def test_a_timeline_with_bad_dates_is_400(client: TestClient, demo: DemoLoadReport) -> None:
    page = client.get("/actors/putin/war-justified", params={"known_at": "soon"})
    assert page.status_code == 400
    assert "known_at" in page.text
