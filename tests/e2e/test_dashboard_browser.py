"""The dashboard in chromium: the demo's matrix, replay by date and by known-at, a cell's
timeline, keyboard use, the live event list, and screenshots at desktop and phone widths.

Every page is also checked for what it must not do: ask any host but the server, or break the
Content-Security-Policy (a violation is a console error)."""

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, DemoServer, screenshot_path

STANCE_CLASS = {
    "opposes": "s-opposes",
    "leans_opposes": "s-leans-opposes",
    "neutral": "s-neutral",
    "leans_supports": "s-leans-supports",
    "supports": "s-supports",
}


@pytest.fixture
def page(browser: BrowserContext, demo_server: DemoServer) -> Iterator[Page]:
    opened = browser.new_page()
    opened.set_viewport_size(DESKTOP)
    requests: list[str] = []
    problems: list[str] = []
    opened.on("request", lambda request: requests.append(request.url))
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    yield opened
    opened.close()
    assert requests, "the page made no request at all"
    foreign = [url for url in requests if not url.startswith(demo_server.url)]
    assert foreign == [], f"requests to other hosts: {foreign}"
    assert problems == [], problems


def cell(page: Page, actor: str, topic: str) -> Locator:
    """The cell of (actor, topic): its row names the actor, its column's header the topic."""
    column = page.evaluate(
        "topic => [...document.querySelectorAll('#matrix thead th[data-topic]')]"
        ".findIndex(th => th.dataset.topic === topic)",
        topic,
    )
    assert column >= 0, topic
    return page.locator(f'#matrix tr[data-actor="{actor}"] > td').nth(column)


def shown_stances(page: Page) -> dict[tuple[str, str], str]:
    found = page.evaluate(
        """() => {
            const topics = [...document.querySelectorAll('#matrix thead th[data-topic]')]
                .map(th => th.dataset.topic);
            return [...document.querySelectorAll('#matrix tr[data-actor]')].flatMap(tr =>
                [...tr.querySelectorAll('td')].map((td, i) =>
                    [tr.dataset.actor, topics[i], td.className]));
        }"""
    )
    result = {}
    for actor, topic, classes in found:
        stance = next(c for c in classes.split() if c.startswith("s-"))
        if stance != "s-none":
            result[(actor, topic)] = stance
    return result


def api_stances(demo_server: DemoServer, **params: str) -> dict[tuple[str, str], str]:
    answer = httpx.get(f"{demo_server.url}/v1/stances", params={"limit": 10000, **params})
    answer.raise_for_status()
    return {(s["actor"], s["topic"]): STANCE_CLASS[s["stance"]] for s in answer.json()["stances"]}


def mark_document(page: Page) -> None:
    """A flag on the window: still there later means the page was never reloaded."""
    page.evaluate("window.__notReloaded = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def test_the_matrix_shows_the_demo_stances(page: Page, demo_server: DemoServer) -> None:
    page.goto(demo_server.url + "/")
    expect(page.locator("h1")).to_have_text("Who stands where")
    expect(cell(page, "putin", "war-justified")).to_have_class(re.compile(r"\bs-supports\b"))
    assert shown_stances(page) == api_stances(demo_server)
    assert len(shown_stances(page)) == 16
    expect(page.locator("#as-of-control")).to_be_visible()  # the script ran
    page.screenshot(path=screenshot_path("matrix-desktop"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshot_path("matrix-phone"), full_page=True)


def test_moving_the_date_back_removes_the_stances_stated_later(
    page: Page, demo_server: DemoServer
) -> None:
    page.goto(demo_server.url + "/")
    mark_document(page)
    slider = page.locator("#as-of-slider")
    slider.focus()
    slider.press("Home")  # the slider's first day: 1 January 2022
    expect(page).to_have_url(re.compile(r"as_of=2022-01-01"))
    expect(page.locator("#as_of")).to_have_value("2022-01-01")
    expect(page.locator("#as-of-output")).to_have_text("as of 1 Jan 2022")
    expect(page.locator("#matrix-count")).to_have_text("0")
    assert shown_stances(page) == {} == api_stances(demo_server, as_of="2022-01-01")

    page.locator("#as_of").fill("2022-03-01")  # the date field does the same
    expect(page).to_have_url(re.compile(r"as_of=2022-03-01"))
    expect(cell(page, "lukashenko", "russian-bases-in-belarus")).to_have_class(
        re.compile(r"\bs-supports\b")
    )
    expect(cell(page, "putin", "war-justified")).to_have_class(re.compile(r"\bs-none\b"))
    assert shown_stances(page) == api_stances(demo_server, as_of="2022-03-01")
    link = cell(page, "putin", "war-justified").locator("a")
    assert "as_of=2022-03-01" in (link.get_attribute("href") or "")
    assert_not_reloaded(page)

    page.reload()  # the URL alone brings the same view back: it can be shared
    expect(page.locator("#as_of")).to_have_value("2022-03-01")
    assert shown_stances(page) == api_stances(demo_server, as_of="2022-03-01")


def _tip_text(page: Page, actor: str, topic: str) -> str:
    cell(page, actor, topic).hover()
    tip = page.locator("#cell-tip")
    expect(tip).to_be_visible()
    return tip.inner_text()


def test_known_at_shows_the_article_before_the_corrections_and_the_record_after(
    page: Page, demo_server: DemoServer
) -> None:
    page.goto(demo_server.url + "/")
    mark_document(page)
    slider = page.locator("#known-at-slider")
    slider.focus()
    slider.press("Home")  # the record before the first correction: the article as published
    expect(page).to_have_url(re.compile(r"known_at="))
    expect(page.locator("#known-at-output")).to_contain_text("Before the correction of")
    mirziyoyev = cell(page, "mirziyoyev", "ukraine-sovereignty")
    expect(mirziyoyev).to_have_class(re.compile(r"\bs-supports\b"))
    expect(cell(page, "kamilov", "ukraine-sovereignty")).to_have_class(re.compile(r"\bs-none\b"))
    tip = _tip_text(page, "mirziyoyev", "ukraine-sovereignty")
    assert "We recognize the sovereignty of Ukraine." in tip and "16 May 2022" in tip
    assert "Lukashenko, Putin’s ally" in tip  # the article is the source
    tokayev = _tip_text(page, "tokayev", "csto-kazakhstan-intervention")
    assert "since 1 Feb 2022" in tokayev  # the article's "February", before the fix

    slider.focus()
    slider.press("End")  # now: every correction applied
    expect(page).not_to_have_url(re.compile(r"known_at="))
    expect(cell(page, "kamilov", "ukraine-sovereignty")).to_have_class(
        re.compile(r"\bs-supports\b")
    )
    expect(mirziyoyev).to_have_class(re.compile(r"\bs-none\b"))
    tip = _tip_text(page, "kamilov", "ukraine-sovereignty")
    assert "Uzbekistan recognizes Ukraine's independence" in tip and "17 Mar 2022" in tip
    assert_not_reloaded(page)


def test_clicking_a_cell_opens_its_timeline(page: Page, demo_server: DemoServer) -> None:
    page.goto(demo_server.url + "/")
    cell(page, "kamilov", "ukraine-sovereignty").locator("a").click()
    expect(page).to_have_url(demo_server.url + "/actors/kamilov/ukraine-sovereignty")
    expect(page.locator("h1")).to_have_text("Abdulaziz Kamilov on Ukraine's sovereignty")
    entry = page.locator("ol.timeline > li").first
    expect(entry).to_contain_text("17 Mar 2022")
    expect(entry).to_contain_text("direct quote")
    expect(entry.locator(".revision")).to_contain_text("Correction")
    expect(entry.locator("a.source")).to_have_attribute("href", re.compile(r"^https://timeturk"))
    page.screenshot(path=screenshot_path("timeline-desktop"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshot_path("timeline-phone"), full_page=True)


def test_the_matrix_works_from_the_keyboard(page: Page, demo_server: DemoServer) -> None:
    page.goto(demo_server.url + "/")
    first = page.locator("#matrix td a").first
    first.focus()
    tip = page.locator("#cell-tip")
    expect(tip).to_be_visible()  # focus shows the details, as hover does
    expect(tip).to_contain_text("A Russian biosafety lab in Kyrgyzstan")
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    expect(tip).to_be_visible()
    rows = page.eval_on_selector_all("#matrix tr[data-actor]", "rs => rs.map(r => r.dataset.actor)")
    topics = page.eval_on_selector_all(
        "#matrix th[data-topic]", "hs => hs.map(h => h.dataset.topic)"
    )
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == f"/actors/{rows[1]}/{topics[1]}"
    expect(tip).to_contain_text(f"on {page.locator('#matrix th[data-topic]').nth(1).inner_text()}")
    assert page.locator("#matrix td a[tabindex='0']").count() == 1  # one tab stop for the grid
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/actors/{rows[1]}/{topics[1]}$"))


def test_a_statement_posted_through_the_api_appears_live(
    page: Page, demo_server: DemoServer
) -> None:
    page.goto(demo_server.url + "/events")
    expect(page.locator("#live-status")).to_have_attribute("data-live", "open")
    mark_document(page)
    posted = httpx.post(
        f"{demo_server.url}/v1/statements",
        headers={"Authorization": f"Bearer {demo_server.writer_key}"},
        json={
            "actor_id": "rahmon",
            "topic_id": "war-justified",
            "stance": "neutral",
            "quote": "Tajikistan calls for <b>talks</b>.",
            "stated_at": "2022-06-01",
            "kind": "paraphrase",
            "source": {"url": "https://example.org/w", "title": "Wire", "publisher": "Example"},
        },
    )
    assert posted.status_code == 201, posted.text
    position = posted.json()["position"]
    row = page.locator(f'#event-rows tr[data-position="{position}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("StatementRecorded")
    expect(row).to_contain_text("Tajikistan calls for <b>talks</b>.")  # as text, not markup
    assert row.locator("b").count() == 0
    expect(row.locator("a")).to_have_attribute("href", "/actors/rahmon/war-justified")
    expect(page.locator("#event-rows tr").first).to_have_attribute("data-position", str(position))
    assert_not_reloaded(page)


def test_without_javascript_the_form_replays_by_reloading(
    browser_without_javascript: BrowserContext, demo_server: DemoServer
) -> None:
    page = browser_without_javascript.new_page()
    page.goto(demo_server.url + "/")
    expect(page.locator("#as-of-control")).to_be_hidden()  # the slider needs the script
    page.locator("#as_of").fill("2022-03-01")
    page.locator("form#replay button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"as_of=2022-03-01"))
    assert shown_stances(page) == api_stances(demo_server, as_of="2022-03-01")
    page.get_by_role("link", name="Back to now").click()
    expect(page).to_have_url(demo_server.url + "/")
    page.locator("#record-states summary").click()
    page.locator('#record-states li[data-state="0"] a').click()
    expect(page).to_have_url(re.compile(r"known_at="))
    expect(cell(page, "mirziyoyev", "ukraine-sovereignty")).to_have_class(
        re.compile(r"\bs-supports\b")
    )
    cell(page, "mirziyoyev", "ukraine-sovereignty").locator("a").click()
    expect(page.locator("h1")).to_have_text("Shavkat Mirziyoyev on Ukraine's sovereignty")
    expect(page.locator(".held")).to_contain_text("Supports")
    page.close()
