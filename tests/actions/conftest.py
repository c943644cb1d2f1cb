from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actions import backend
from tests.actions.helpers import FakeApi, load_domain


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return load_domain()


@pytest.fixture(autouse=True)
def _no_model_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from actions import photos

    monkeypatch.setattr(photos, "WARM_UP", False)


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    """The action server's HTTP client wired to an in-memory fake of the returns API."""
    from api.settings import get_settings

    api = FakeApi()
    monkeypatch.setenv("API_BASE_URL", "http://api.test")
    monkeypatch.setenv("SERVICE_TOKEN", "svc-token-for-tests")
    get_settings.cache_clear()
    monkeypatch.setattr(backend, "_transport", api.transport())
    yield api
    get_settings.cache_clear()


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in damage model: photos whose bytes start with b"dark" fail the quality gate."""
    import base64
    import io

    from PIL import Image

    from actions import photos

    png = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(png, format="PNG")

    def fake_assess(data: bytes) -> dict[str, Any]:
        dark = data.startswith(b"dark")
        return {
            "damage_probability": 0.1 if dark else 0.91,
            "severity": "none" if dark else "severe",
            "damage_type": None if dark else "cracked",
            "confidence": 0.88,
            "unusable_probability": 0.02,
            "quality": {
                "ok": not dark,
                "issues": ["too_dark"] if dark else [],
                "message": "That photo is too dark, please retake it in better light." if dark else "",
            },
            "model_version": "test-model",
            "latency_ms": 1.0,
        }

    monkeypatch.setattr(photos, "_assess_sync", fake_assess)
    monkeypatch.setattr(photos, "_heatmap_sync", lambda data: base64.b64encode(png.getvalue()).decode())


@pytest.fixture
def _var_dir(tmp_path: Path) -> Path:
    # tests/conftest.py's `database` points VAR_DIR at tmp_path/"var" but does not create it
    # (tests/api has its own override that does); Alembic's engine needs the folder to exist.
    var = tmp_path / "var"
    var.mkdir(parents=True, exist_ok=True)
    return var


@pytest.fixture
def api_url(_var_dir: Path, live_api: str) -> str:
    """The real API on a free port, fresh seeded database (tests/conftest.py `live_api`)."""
    return live_api
