"""The merchant dashboard in a real browser (Debian's Chromium driven by Playwright).

A flagged return is made through the API the way the action server makes one (real photos from
the dataset, an assessment with a heatmap, quote, create: order 100234, headphones -> review).
A reviewer signs in, opens it, sees the heatmap over the photo, approves it, sees the status
change and the emails in the outbox. Screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard import helpers
from tests.support import missing_prerequisite

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared `database` fixture needs its SQLite folder to exist before it migrates.
    (tmp_path / "var").mkdir(exist_ok=True)
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")  # no chat server: the page must say so


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        missing_prerequisite("Debian's Chromium is missing: run `make chromium`")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        context.close()
        browser.close()
        assert not errors, f"JavaScript errors on the dashboard: {errors}"


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"dashboard-{name}.png"), full_page=True)


def test_reviewer_approves_a_flagged_return_in_the_browser(live_api: str, browser_page: Any) -> None:
    import httpx

    helpers.make_user("acme", "rev@acme.example", "reviewer")
    with httpx.Client(base_url=live_api, timeout=30) as api:
        ret = helpers.create_return(api)  # 100234 headphones, 2 photos with heatmaps -> review
    rma = ret["rma"]
    page = browser_page

    # Sign in.
    page.goto(f"{live_api}/merchant/login")
    _shot(page, "01-login")
    page.fill("#email", "rev@acme.example")
    page.fill("#password", helpers.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_api}/merchant/queue")
    assert page.locator("#queue-total").inner_text() == "1"
    assert page.locator(f"a:has-text('{rma}')").is_visible()
    _shot(page, "02-queue")

    # Open the flagged return: photos with the damage heatmap over them.
    page.click(f"a:has-text('{rma}')")
    page.wait_for_url(f"{live_api}/merchant/returns/{rma}")
    heatmap = page.locator("img.heatmap").first
    heatmap.wait_for(state="visible")
    loaded = heatmap.evaluate("img => img.complete && img.naturalWidth > 0")
    assert loaded, "the heatmap image did not load"
    photo_box = page.locator(".photo-stack img:not(.heatmap)").first.bounding_box()
    heat_box = heatmap.bounding_box()
    assert photo_box and heat_box
    assert abs(photo_box["width"] - heat_box["width"]) < 2  # the overlay covers the photo exactly
    assert abs(photo_box["height"] - heat_box["height"]) < 2
    assert page.locator("text=damage.unclear").first.is_visible()
    assert page.locator("text=value.high").first.is_visible()
    assert page.locator("[data-testid=transcript-problem]").is_visible()  # Rasa is down: said so
    _shot(page, "03-return-with-heatmap")

    # The toggle hides the overlay and brings it back.
    toggle = page.locator(".heatmap-toggle").first
    toggle.uncheck()
    assert not heatmap.is_visible()
    _shot(page, "04-return-heatmap-off")
    toggle.check()
    assert heatmap.is_visible()

    # Approve with a note.
    page.fill("#note", "The crack is clear on both photos.")
    page.click("button:has-text('Approve')")
    page.wait_for_url(f"{live_api}/merchant/returns/{rma}")
    assert page.locator(".flash.success").inner_text().startswith(f"Approved {rma}")
    assert page.locator("h1 .badge").inner_text() == "pickup scheduled"
    assert page.locator("#pickup-h + dl .badge").inner_text() == "scheduled"
    _shot(page, "05-approved")

    # The queue is empty, and the emails are in the outbox.
    page.goto(f"{live_api}/merchant/queue")
    assert page.locator("#queue-total").inner_text() == "0"
    page.goto(f"{live_api}/merchant/outbox")
    assert page.locator(f"a:has-text('Your return {rma} is approved')").is_visible()
    assert page.locator(f"a:has-text('Pickup booked for your return {rma}')").is_visible()
    _shot(page, "06-outbox")
    page.click(f"a:has-text('Your return {rma} is approved')")
    body = page.locator("pre.mail").inner_text()
    assert rma in body and "approved" in body
    _shot(page, "07-email")

    # Charts a person can see.
    page.goto(f"{live_api}/merchant/analytics")
    assert page.locator("svg.chart").count() >= 6
    _shot(page, "08-analytics")
