"""``stance keys create|list|revoke`` as a user runs it: a subprocess on the test database."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from service.auth.keys import InvalidKeyName, check_key_name

ROOT = Path(__file__).resolve().parents[2]


def stance(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STANCE_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "service", "keys", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_create_prints_the_key_once_and_stores_only_its_hash(test_db, db):
    created = stance(test_db.url, "create", "newsroom")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("stk_") and len(key) == 4 + 43
    assert created.stdout == key + "\n"
    assert "cannot be shown again" in created.stderr and key not in created.stderr
    with db.read() as session:
        rows = session.connection().execute(text("SELECT * FROM api_keys")).mappings().all()
    assert [(r["name"], r["can_write"]) for r in rows] == [("newsroom", True)]
    assert rows[0]["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert not any(key in str(value) for value in rows[0].values())

    listed = stance(test_db.url, "list")
    assert listed.returncode == 0, listed.stderr
    assert key[:12] in listed.stdout and key not in listed.stdout
    assert "read-write" in listed.stdout and "active" in listed.stdout


def test_read_only_duplicate_and_revoke(test_db, make_client):
    read_only = stance(test_db.url, "create", "reader", "--read-only")
    assert read_only.returncode == 0, read_only.stderr
    key = read_only.stdout.strip()

    duplicate = stance(test_db.url, "create", "reader")
    assert duplicate.returncode == 1 and "exists" in duplicate.stderr

    client = make_client(api_key_cache_seconds=0, public_reads=False)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/events", headers=headers).status_code == 200

    revoked = stance(test_db.url, "revoke", "reader")
    assert revoked.returncode == 0, revoked.stderr
    assert client.get("/v1/events", headers=headers).status_code == 401
    missing = stance(test_db.url, "revoke", "nobody")
    assert missing.returncode == 1 and "no key named" in missing.stderr


def test_key_names_are_slugs_and_not_reserved():
    for name in ["newsroom", "ci-bot", "feed.ingest_2"]:
        assert check_key_name(name) == name
    for name in ["", "Not A Name", "-x", "x" * 65, "anonymous"]:
        with pytest.raises(InvalidKeyName):
            check_key_name(name)
