"""Browser tests: a real ``boxoffice serve`` (two worker processes, so sessions must be shared) driven by Debian's
Chromium through Playwright. Without ``/usr/bin/chromium`` (``make browser`` installs it) they are skipped, never
passed. Screenshots of the main pages land in ``tests/artifacts/e2e/`` (kept by CI as artifacts)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from live_server import live_server

from boxoffice.apps.control.users import set_password
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.demo import create_demo_data

CHROMIUM = Path(os.environ.get("BOXOFFICE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "e2e"
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
ADMIN_EMAIL = "organizer@example.org"
ADMIN_PASSWORD = "correct horse battery"


@dataclass
class Site:
    url: str
    kernel: Kernel
    organizer: str
    event: str
    admin_email: str = ADMIN_EMAIL
    admin_password: str = ADMIN_PASSWORD


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make browser` to install Chromium for the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(browser, migrated_url: str, tmp_path_factory: pytest.TempPathFactory, empty_tables) -> Iterator[Site]:
    """The demo organizer and event, an organizer account (set up like ``boxoffice user set-password --admin-of``)
    and a server with two worker processes."""
    data_dir = tmp_path_factory.mktemp("e2e")
    kernel = Kernel(Config(database_url=migrated_url, data_dir=data_dir))
    demo = create_demo_data(kernel)
    set_password(kernel, ADMIN_EMAIL, ADMIN_PASSWORD, admin_of=demo.organizer_slug)
    try:
        with live_server(migrated_url, data_dir, workers=2) as url:
            yield Site(url=url, kernel=kernel, organizer=demo.organizer_slug, event=demo.event_slug)
    finally:
        empty_tables(kernel)
        kernel.close()


def _page(browser: Any, site: Site, viewport: str) -> Iterator[Any]:
    context = browser.new_context(base_url=site.url, locale="en-US", **VIEWPORTS[viewport])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.viewport_name = viewport
    yield page
    context.close()


@pytest.fixture
def desktop(browser, site: Site) -> Iterator[Any]:
    yield from _page(browser, site, "desktop")


@pytest.fixture
def phone(browser, site: Site) -> Iterator[Any]:
    yield from _page(browser, site, "phone")


@pytest.fixture(params=sorted(VIEWPORTS))
def any_page(request, browser, site: Site) -> Iterator[Any]:
    """The test runs once on a phone-sized and once on a desktop viewport."""
    yield from _page(browser, site, request.param)


def _screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{getattr(page, 'viewport_name', 'page')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot() -> Any:
    """``screenshot(page, name)`` keeps a full-page screenshot: ``tests/artifacts/e2e/<name>-<viewport>.png``."""
    return _screenshot


def _fits_viewport(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def fits_viewport() -> Any:
    """``fits_viewport(page)``: no horizontal scrolling, so the page is usable on the viewport it is shown on."""
    return _fits_viewport


def log_in(page: Any, site: Site) -> None:
    page.goto("/control/login")
    page.get_by_label("E-mail address").fill(site.admin_email)
    page.get_by_label("Password").fill(site.admin_password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/control/")


@pytest.fixture
def logged_in() -> Any:
    """``logged_in(page, site)`` logs the organizer in through the log-in form."""
    return log_in
