"""End-to-end: the dashboard in a real headless browser against a real uvicorn on 127.0.0.1.

The browser is the system's chromium (``/usr/bin/chromium``, which ``.ci/run`` installs), driven
by Playwright through its executable path, with a fresh profile directory per browser; Playwright
downloads nothing. The server runs the app with the demo loaded into a SQLite file made for the
module. Screenshots go to ``artifacts/screenshots/`` (not committed).
"""

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Playwright, sync_playwright

from service.app import create_app
from service.auth.registry import create_key
from service.config import Settings
from service.db import Database
from service.demo.loader import DemoLoadReport, load_demo
from tests.api.conftest import LiveServer
from tests.e2e.browser import CHROMIUM, CHROMIUM_FLAGS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class DemoServer:
    url: str
    writer_key: str
    demo: DemoLoadReport


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    path = tmp_path_factory.mktemp("e2e") / "stance.db"
    settings = Settings(database_url=f"sqlite:///{path}", api_key_cache_seconds=0)
    server = LiveServer(create_app(settings)).start()
    try:
        runtime = server.app.state.runtime
        demo = load_demo(runtime.services.bus)
        with Database(runtime.database.engine).write() as session:
            key = create_key(session, name="e2e-writer", can_write=True).key
        yield DemoServer(url=server.url, writer_key=key, demo=demo)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, for one module at a time: while it runs, its event loop is the
    thread's running loop, which later tests calling ``asyncio.run`` must not find."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as driver:
        yield driver


def _context(playwright: Playwright, **options: object) -> Iterator[BrowserContext]:
    profile = tempfile.mkdtemp(prefix="stance-e2e-profile-")
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_FLAGS,
        viewport=DESKTOP,
        **options,  # type: ignore[arg-type]
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[BrowserContext]:
    """A browser with a fresh profile, shared by the tests of a module (new page per test)."""
    yield from _context(playwright)


@pytest.fixture(scope="module")
def browser_without_javascript(playwright: Playwright) -> Iterator[BrowserContext]:
    yield from _context(playwright, java_script_enabled=False)


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
