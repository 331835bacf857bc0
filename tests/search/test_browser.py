"""The search page in real headless Chromium: search, click a facet, open a record, switch
language — by keyboard and link only, as a reader on a phone would (no JavaScript needed)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LIBEXT_CHROMIUM", "/usr/bin/chromium")
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _need_chromium() -> None:
    reason = None
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        reason = f"Chromium not found at {CHROMIUM} (Debian package 'chromium')"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright for Python is not installed (pip install playwright)"
    if reason:
        if ON_CI:
            pytest.fail(f"the browser test is required under CI=true: {reason}")
        pytest.skip(reason)


@pytest.fixture
def base_url(demo_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page(base_url: str):  # type: ignore[no-untyped-def]
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        # A phone-sized window, JavaScript off: the page must work without it.
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, java_script_enabled=False, locale="vi-VN"
        )
        tab = context.new_page()
        # Nothing beyond loopback: any other request fails the test.
        outside: list[str] = []
        tab.on(
            "request",
            lambda req: outside.append(req.url) if not req.url.startswith(base_url) else None,
        )
        yield tab
        context.close()
        browser.close()
        assert outside == [], f"requests left loopback: {outside}"


@pytest.mark.parametrize("demo_app", ["sqlite"], indirect=True)
def test_search_facet_record_language(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "/")
    # The search box has a label and is reachable from the keyboard.
    box = page.get_by_label("Tìm sách, tác giả, chủ đề, ISBN")
    box.fill("truyen kieu nguyen du")
    box.press("Enter")
    page.wait_for_url("**/?q=truyen+kieu+nguyen+du*")
    heading = page.locator("#results-heading")
    assert "kết quả" in heading.inner_text()
    assert page.locator("ol.results > li").count() >= 2
    # Phone-readable: the page declares a device-width viewport and its results list fits.
    assert page.locator('meta[name="viewport"]').count() == 1
    box_width = page.locator("ol.results").bounding_box()["width"]
    assert box_width <= 390

    # Click a facet: the library of the district of Phủ Lý.
    page.locator("#facet-library + ul a", has_text="Phủ Lý").first.click()
    page.wait_for_url("**library=PLY*")
    assert page.locator(".facets .on a[aria-current]").count() == 1
    for holders in page.locator("ol.results .holders").all():
        assert "Phủ Lý" in holders.inner_text()

    # Open a record: holdings table, MARC view, downloads.
    page.locator("ol.results h3 a").first.click()
    page.wait_for_url("**/record/*")
    assert page.get_by_role("heading", name="Thư viện có ấn bản này").is_visible()
    assert page.locator("table.marc td", has_text="245").count() >= 1
    assert page.get_by_role("link", name="MARCXML").is_visible()
    assert "Khóa gom nhóm" in page.content()

    # Switch to English; the choice sticks on the next page.
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Libraries holding this edition").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="« Search").click()
    page.get_by_label("Search titles, authors, subjects, ISBN").fill("dế mèn")
    page.get_by_role("button", name="Search").click()
    assert "results" in page.locator("#results-heading").inner_text()
