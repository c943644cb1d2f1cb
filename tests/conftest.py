"""Shared fixtures: an isolated, migrated, seeded database per test; the API in-process or live.

The suite runs on SQLite; when TEST_DATABASE_URL points at PostgreSQL (CI sets it), the
database-backed tests run there too (parametrised as `sqlite` / `postgres`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
SERVICE_TOKEN = "test-service-token-" + "x" * 16
DATASET = ROOT.parent / "shared" / "datasets" / "damage"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def configure(monkeypatch: pytest.MonkeyPatch, var_dir: Path, database_url: str = "") -> None:
    """Point every settings-reading module at a fresh place, then migrate and seed."""
    from api.db import reset_caches
    from api.settings import get_settings

    monkeypatch.setenv("VAR_DIR", str(var_dir))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-" + "y" * 24)
    monkeypatch.setenv("SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("CARRIER_WEBHOOK_SECRET", "test-carrier-secret")
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    reset_caches()


DB_PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DB_PARAMS)
def database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, seeded database; yields the backend name."""
    from api.db import reset_caches
    from api.migrate import upgrade
    from api.seed import seed
    from api.settings import get_settings

    url = ""
    if request.param == "postgres":
        url = os.environ.get("TEST_DATABASE_URL", "")
        if not url:
            pytest.skip("TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
        _reset_postgres(url)
    configure(monkeypatch, tmp_path / "var", url)
    upgrade()
    seed()
    yield request.param
    reset_caches()
    get_settings.cache_clear()


@pytest.fixture
def client(database: str) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def service_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def demo_photo(label: str = "damaged") -> Path:
    """A real photo from the curated dataset."""
    import csv

    with (DATASET / "labels.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["label"] == label:
                return DATASET / row["file"]
    raise LookupError(label)
