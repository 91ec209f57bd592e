"""``stance feeds add|list|poll|resume|delete`` as a user runs them: a subprocess on the test
database, polling a real server on 127.0.0.1."""

import os
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

from service.db import Database
from tests.conftest import ProvisionedDatabase
from tests.feeds.conftest import FeedSite, catalog_services

ROOT = Path(__file__).resolve().parents[2]
TROOPS = (
    "https://example.org/wire/troops",
    "Lukashenko on troops",
    "Lukashenko said Belarus refuses to send troops to Ukraine.",
)


def stance(database_url: str, *args: str, private: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "STANCE_DATABASE_URL": database_url,
        "STANCE_ALLOW_PRIVATE_URLS": "true" if private else "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "service", "feeds", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_add_list_poll_delete(test_db: ProvisionedDatabase, httpserver: HTTPServer):
    catalog_services(Database(test_db.engine))
    site = FeedSite([TROOPS])
    httpserver.expect_request("/feed.xml").respond_with_handler(site.handle)
    url = httpserver.url_for("/feed.xml")

    added = stance(test_db.url, "add", url, "--name", "Wire", "--interval", "600")
    assert added.returncode == 0, added.stderr
    feed_id = added.stdout.split()[2]
    polled = stance(test_db.url, "poll", feed_id)
    listed = stance(test_db.url, "list")
    nothing_due = stance(test_db.url, "poll")
    deleted = stance(test_db.url, "delete", feed_id)
    after = stance(test_db.url, "list")

    assert polled.returncode == 0, polled.stderr
    assert f"{feed_id} ok (HTTP 200): 1 new items, 1 statements" in polled.stdout
    assert "lukashenko opposes on belarus-troops-to-ukraine (confidence" in polled.stdout
    assert TROOPS[0] in polled.stdout
    [line] = listed.stdout.splitlines()
    assert line.startswith(f"{feed_id}\tpolling\tnews\tlast ")
    assert "items 1\tstatements 1" in line and url in line
    assert nothing_due.stdout.strip() == "no feed is due"
    assert deleted.returncode == 0 and after.stdout == ""
    assert stance(test_db.url, "list", "--all").stdout.split("\t")[1] == "deleted"


def test_errors_are_clear_and_exit_non_zero(test_db: ProvisionedDatabase, httpserver):
    url = httpserver.url_for("/feed.xml")

    refused = stance(test_db.url, "add", url, private=False)
    bad_interval = stance(test_db.url, "add", url, "--interval", "1")
    unknown = stance(test_db.url, "poll", "00000000-0000-4000-8000-000000000000")
    not_an_id = stance(test_db.url, "resume", "nope")
    stance(test_db.url, "add", url)
    twice = stance(test_db.url, "add", url)

    assert refused.returncode == 1 and "not a public address" in refused.stderr
    assert bad_interval.returncode == 1 and "--interval must be from" in bad_interval.stderr
    assert unknown.returncode == 1 and "no feed" in unknown.stderr
    assert not_an_id.returncode == 2 and "not a feed id" in not_an_id.stderr
    assert twice.returncode == 1 and "already polls" in twice.stderr


def test_an_unmigrated_database_exits_2(make_database):
    fresh = make_database("sqlite", migrated=False)
    result = stance(fresh.url, "list")
    assert result.returncode == 2 and "stance migrate" in result.stderr
