"""Shared fixtures: an isolated, migrated, seeded database per test; the API in-process or live.

The suite runs on SQLite; when TEST_DATABASE_URL points at PostgreSQL (CI sets it), the
database-backed tests run there too (parametrised as `sqlite` / `postgres`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

# Importing actions.photos must not start loading the damage model in every test process; the
# stacks the e2e tests start turn it on for their action servers (scripts/run.py).
os.environ.setdefault("DAMAGE_MODEL_PRELOAD", "0")

from tests.support import (
    DATASET,
    DB_PARAMS,
    ROOT,
    SERVICE_TOKEN,
    _reset_postgres,
    configure,
    demo_photo,
    free_port,
)


@pytest.fixture
def client(database: str) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def service_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture
def live_api(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real API served over HTTP on a free port (for the action server's client)."""
    import uvicorn

    from api.main import create_app
    from api.settings import get_settings

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("API_BASE_URL", base)
    monkeypatch.setenv("PUBLIC_BASE_URL", base)
    get_settings.cache_clear()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("API did not start")
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


# The `database` fixture (and merchant login helpers) live in tests/db_templates.py: a migrated,
# seeded database per test, built once per session and restored by copy.
from tests.db_templates import (  # noqa: E402
    _fast_password_hashing,
    _templates,
    database,
    merchant_headers,
    merchant_token,
    var_dir,
)

__all__ = [
    "DATASET",
    "DB_PARAMS",
    "ROOT",
    "SERVICE_TOKEN",
    "_fast_password_hashing",
    "_reset_postgres",
    "_templates",
    "configure",
    "database",
    "demo_photo",
    "free_port",
    "merchant_headers",
    "merchant_token",
    "var_dir",
]
