"""Fixtures for the channel connector tests.

The connectors run inside Rasa (Python 3.10, `.venv-rasa`); the suite runs on Python 3.11. So
the tests start `tests/channels/rasa_side/harness.py` with the Rasa venv's Python (the
connectors mounted on a Sanic app exactly as `rasa run` mounts them, with a scripted agent) and
talk to it over HTTP, while the provider fakes (`fakes.py`) run here in threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.fakes import FakeTelegram, FakeTwilio, FakeUploadApi
from tests.conftest import ROOT, free_port
from tests.support import missing_prerequisite

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
HARNESS = ROOT / "tests" / "channels" / "rasa_side" / "harness.py"
TELEGRAM = "bot.channels.telegram.TelegramInput"
TWILIO = "bot.channels.twilio_whatsapp.TwilioWhatsAppInput"


class Harness:
    """A running harness process and the URLs of its webhooks."""

    def __init__(self, base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.base = base
        self.proc = proc
        self.log = log
        self.telegram_webhook = f"{base}/webhooks/telegram_returns/webhook"
        self.twilio_webhook = f"{base}/webhooks/twilio_whatsapp/webhook"

    def _call(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            self.base + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=60) as resp:
            return json.loads(resp.read())

    def received(self) -> list[dict[str, Any]]:
        """What reached the (scripted) agent, once every pending job has finished."""
        return list(self._call("GET", "/_harness/received"))

    def texts(self) -> list[str]:
        return [m["text"] for m in self.received()]

    def settle(self) -> None:
        self.received()

    def forget(self) -> None:
        self._call("POST", "/_harness/forget")

    def reset(self) -> None:
        self._call("POST", "/_harness/reset")

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_harness(credentials: dict[str, Any], workdir: Path, env: dict[str, str] | None = None) -> Harness:
    if not RASA_PYTHON.exists():
        missing_prerequisite("the Rasa venv (.venv-rasa) is not built: run `make setup`")
    port = free_port()
    config = workdir / f"harness-{port}.json"
    config.write_text(json.dumps({"port": port, "credentials": credentials}))
    log = workdir / f"harness-{port}.log"
    # The connectors read unset settings from the environment: start from a clean one.
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "TWILIO_")) and k != "API_BASE_URL"
    }
    full_env = {**clean, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **(env or {})}
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(RASA_PYTHON), str(HARNESS), str(config)],
            cwd=ROOT,
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    harness = Harness(f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"harness exited with {proc.returncode}:\n{harness.logs()}")
        try:
            harness.received()
            return harness
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"harness did not start:\n{harness.logs()}") from None
            time.sleep(0.2)


def stop_harness(harness: Harness) -> None:
    harness.proc.terminate()
    try:
        harness.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        harness.proc.kill()


def channel_credentials(telegram: FakeTelegram, twilio: FakeTwilio, api_base: str) -> dict[str, Any]:
    return {
        TELEGRAM: {
            "access_token": telegram.token,
            "secret_token": telegram.secret_token,
            "telegram_api_base": telegram.url,
            "api_base_url": api_base,
            "media_group_wait": 0.5,
        },
        TWILIO: {
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "whatsapp_number": twilio.whatsapp_number,
            "twilio_api_base": twilio.url,
            "api_base_url": api_base,
        },
    }


@pytest.fixture(scope="session")
def fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_api() -> Iterator[FakeUploadApi]:
    fake = FakeUploadApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def harness_session(
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    fake_api: FakeUploadApi,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Harness]:
    harness = start_harness(
        channel_credentials(fake_telegram, fake_twilio, fake_api.url), tmp_path_factory.mktemp("harness")
    )
    fake_telegram.webhook_url = harness.telegram_webhook
    fake_twilio.webhook_url = harness.twilio_webhook
    yield harness
    stop_harness(harness)


@pytest.fixture
def harness(
    harness_session: Harness, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio, fake_api: FakeUploadApi
) -> Harness:
    """The shared harness with every record cleared for this test."""
    harness_session.reset()
    fake_telegram.reset()
    fake_twilio.reset()
    fake_api.reset()
    fake_telegram.webhook_url = harness_session.telegram_webhook
    fake_twilio.webhook_url = harness_session.twilio_webhook
    return harness_session


def jpeg_bytes() -> bytes:
    """A small real JPEG (from the curated dataset when present)."""
    from tests.conftest import demo_photo

    try:
        return demo_photo("damaged").read_bytes()
    except (LookupError, OSError):
        import io

        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (640, 480), (180, 120, 90)).save(buffer, "JPEG")
        return buffer.getvalue()
