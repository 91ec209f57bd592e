"""``GET /``: the matrix of the demo, replayed with ``as_of`` and ``known_at`` in the URL alone
(no script involved), and its controls. Each test runs on SQLite and PostgreSQL."""

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from service.demo.loader import DemoLoadReport
from service.web.templating import CONTENT_SECURITY_POLICY, iso
from tests.web.conftest import statement
from tests.web.html import matrix_cells, stance_classes

EXPECTED_CLASS = {
    "opposes": "s-opposes",
    "leans_opposes": "s-leans-opposes",
    "neutral": "s-neutral",
    "leans_supports": "s-leans-supports",
    "supports": "s-supports",
}


def _api_matrix(client: TestClient, **params: str) -> dict[tuple[str, str], str]:
    answer = client.get("/v1/stances", params={"limit": 10000, **params})
    assert answer.status_code == 200, answer.text
    return {(s["actor"], s["topic"]): EXPECTED_CLASS[s["stance"]] for s in answer.json()["stances"]}


def test_the_matrix_shows_the_demo_stances_as_the_api_gives_them(
    client: TestClient, demo: DemoLoadReport
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    shown = stance_classes(page.text)
    assert shown == _api_matrix(client)
    assert shown[("putin", "war-justified")] == "s-supports"
    assert shown[("tokayev", "war-justified")] == "s-leans-opposes"
    assert shown[("kamilov", "ukraine-sovereignty")] == "s-supports"
    assert ("mirziyoyev", "ukraine-sovereignty") not in shown
    cells = matrix_cells(page.text)
    assert len(cells) == 10 * 9  # every actor by every topic, silent ones included
    putin = cells[("putin", "war-justified")]
    assert putin.label == "Supports" and putin.symbol == "++"
    assert putin.tip.splitlines() == [
        "Vladimir Putin on Russia's war against Ukraine",
        "Supports · since 16 May 2022",
        "“In his opening speech Putin justified his ‘special military operation’”",
        "paraphrase · Lukashenko, Putin’s ally, Letter by Erich Wannemacher, Lapu-Lapu City",
    ]
    assert putin.href == "/actors/putin/war-justified"
    silent = cells[("rahmon", "war-justified")]
    assert (silent.label, silent.symbol, silent.stance_class) == ("No stance", "·", "s-none")


def test_rows_are_grouped_by_country(client: TestClient, demo: DemoLoadReport) -> None:
    full = client.get("/").text
    page = full[full.index('id="matrix"') :]
    belarus, uzbekistan = page.index(">Belarus <"), page.index(">Uzbekistan <")
    assert belarus < page.index("Alexander Lukashenko") < uzbekistan
    assert uzbekistan < page.index("Abdulaziz Kamilov") < page.index("Shavkat Mirziyoyev")


def test_as_of_in_the_url_replays_without_javascript(
    client: TestClient, demo: DemoLoadReport
) -> None:
    before_anything = client.get("/", params={"as_of": "2022-01-01"})
    assert before_anything.status_code == 200
    assert stance_classes(before_anything.text) == {}
    assert 'value="2022-01-01"' in before_anything.text  # the form keeps the chosen date

    march = client.get("/", params={"as_of": "2022-03-01"})
    shown = stance_classes(march.text)
    assert shown == _api_matrix(client, as_of="2022-03-01")
    assert shown[("lukashenko", "russian-bases-in-belarus")] == "s-supports"  # 24 and 27 Feb
    assert shown[("tokayev", "csto-kazakhstan-intervention")] == "s-supports"  # 5 Jan
    assert ("putin", "war-justified") not in shown  # first stated 16 May
    link = matrix_cells(march.text)[("putin", "war-justified")].href
    assert parse_qs(urlsplit(link).query) == {"as_of": ["2022-03-01"]}


def test_known_at_shows_the_article_before_the_corrections(
    client: TestClient, demo: DemoLoadReport
) -> None:
    assert demo.article_known_at is not None
    known_at = iso(demo.article_known_at)
    as_published = stance_classes(client.get("/", params={"known_at": known_at}).text)
    assert as_published == _api_matrix(client, known_at=known_at)
    assert as_published[("mirziyoyev", "ukraine-sovereignty")] == "s-supports"
    assert ("kamilov", "ukraine-sovereignty") not in as_published

    now = stance_classes(client.get("/").text)
    assert now[("kamilov", "ukraine-sovereignty")] == "s-supports"
    assert ("mirziyoyev", "ukraine-sovereignty") not in now


def test_the_record_states_link_to_the_record_before_each_revision(
    client: TestClient, demo: DemoLoadReport
) -> None:
    page = client.get("/").text
    assert page.count('data-state="') == 4  # before each of the 3 corrections, and now
    first = page.index('data-state="0"')
    href = page[page.index('href="', first) + 6 : page.index('"', page.index('href="', first) + 6)]
    before_all = client.get(href.replace("&amp;", "&"))
    assert before_all.status_code == 200
    shown = stance_classes(before_all.text)
    assert shown[("mirziyoyev", "ukraine-sovereignty")] == "s-supports"
    assert "Before the correction of" in page


def test_an_empty_record_renders(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "No actors or topics are recorded yet." in page.text


def test_unreadable_dates_are_a_clear_400_page(client: TestClient, demo: DemoLoadReport) -> None:
    for params, field in (
        ({"as_of": "2022-13-45"}, "as_of"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"known_at": "2022-06-01T25:00:00Z"}, "known_at"),
        ({"as_of": "0001-01-01T00:00:00+14:00"}, "as_of"),
        ({"as_of": "2" * 41}, "as_of"),
    ):
        page = client.get("/", params=params)
        assert page.status_code == 400, params
        assert page.headers["content-type"].startswith("text/html")
        assert "Invalid time" in page.text and field in page.text
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_a_flip_is_marked_by_more_than_colour(
    client: TestClient, demo: DemoLoadReport, writer: dict[str, str]
) -> None:
    for stance, stated_at in (("leans_opposes", "2022-06-01"), ("supports", "2022-06-20")):
        body = statement(stance=stance, stated_at=stated_at, quote=f"Rahmon, {stance}.")
        assert client.post("/v1/statements", json=body, headers=writer).status_code == 201
    flipped = matrix_cells(client.get("/").text)[("rahmon", "war-justified")]
    assert {"s-supports", "flip"} <= flipped.classes
    assert flipped.symbol == "++ ⇄"
    assert flipped.label == "Supports, flip"
    assert "Supports · flip from Leans opposes · since 20 Jun 2022" in flipped.tip
    before = matrix_cells(client.get("/", params={"as_of": "2022-06-10"}).text)
    assert "flip" not in before[("rahmon", "war-justified")].classes
    assert before[("rahmon", "war-justified")].label == "Leans opposes"
