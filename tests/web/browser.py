"""Playwright driving Debian's Chromium (`playwright install` cannot download browsers here)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support import missing_prerequisite

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def require_chromium() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        missing_prerequisite("Debian's Chromium is not installed (make chromium)")
    return path


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Playwright's assertions wait 5 s by default. A bot reply in these tests crosses socket.io
# (connect, session_request, upgrade) and another process; on a loaded 2-core CI machine that
# has taken longer than 5 s while nothing was wrong, so assertions wait as long as the page
# actions do (the contexts' default timeout). A message that never arrives still fails.
ASSERT_TIMEOUT_MS = 15_000


def expect() -> Any:
    """Playwright's `expect`, waiting ASSERT_TIMEOUT_MS unless a call says otherwise."""
    from playwright.sync_api import expect as pw_expect

    pw_expect.set_options(timeout=ASSERT_TIMEOUT_MS)
    return pw_expect


def screenshot(page: Any, name: str) -> Path:
    """Save a PNG of the page under artifacts/screenshots/ (a folder git ignores)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^a-z0-9_-]+", "-", name.lower()) + ".png")
    page.screenshot(path=str(path))
    return path


def outside_requests(page: Any, allowed_hosts: set[str]) -> list[str]:
    """Start recording requests to hosts not in allowed_hosts; returns the (live) list."""
    from urllib.parse import urlsplit

    seen: list[str] = []

    def record(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in allowed_hosts:
            seen.append(request.url)

    page.on("request", record)
    return seen
