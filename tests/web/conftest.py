"""Fixtures for the web tests: the API served over HTTP with a stand-in Rasa, for the browser."""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, configure, free_port
from tests.support import missing_prerequisite

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
FAKE_RASA = Path(__file__).with_name("fake_rasa.py")


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer in {timeout:.0f} s") from None
            time.sleep(0.1)


class FakeRasa:
    """tests/web/fake_rasa.py in the Rasa venv, on a fixed port so it can be restarted."""

    def __init__(self, api: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = api
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not RASA_PYTHON.exists():
            missing_prerequisite("the Rasa venv (.venv-rasa) is not set up: make setup")
        self.proc = subprocess.Popen(
            [str(RASA_PYTHON), str(FAKE_RASA), "--port", str(self.port), "--api", self.api],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(self.url + "/status")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # abrupt on purpose: the widget must cope with a server that vanishes
            self.proc.wait(timeout=10)

    def received(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.url + "/received", timeout=5) as resp:
            return list(json.load(resp))

    def messages(self) -> list[str]:
        return [str(item["message"]) for item in self.received()]

    def refuse(self, times: int) -> None:
        """Refuse the next `times` socket.io connections (the server says no; it is not down)."""
        request = urllib.request.Request(
            self.url + "/refuse",
            data=json.dumps({"times": times}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5):
            pass


@dataclass
class Shop:
    api: str
    rasa: FakeRasa


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    """The API on a free port (migrated, seeded, temporary VAR_DIR) with the fake Rasa as data-server."""
    import uvicorn

    from api.db import reset_caches
    from api.main import create_app
    from api.migrate import upgrade
    from api.seed import seed
    from api.settings import get_settings

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rasa = FakeRasa(base)
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        (Path(tmp) / "var").mkdir()
        configure(mp, Path(tmp) / "var")
        mp.setenv("API_BASE_URL", base)
        mp.setenv("PUBLIC_BASE_URL", base)
        mp.setenv("RASA_URL", rasa.url)
        get_settings.cache_clear()
        upgrade()
        seed()
        rasa.start()
        server = uvicorn.Server(
            uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_until_up(base + "/healthz")
            yield Shop(api=base, rasa=rasa)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            rasa.stop()
            reset_caches()
            get_settings.cache_clear()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests.web.browser import chromium

    with chromium() as instance:
        yield instance
