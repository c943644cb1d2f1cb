"""Plain test helpers shared by the fixtures and the tests (no fixtures here)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from scripts.run import free_port as free_port  # one implementation for the scripts and the tests

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

    var_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("VAR_DIR", str(var_dir))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-" + "y" * 24)
    monkeypatch.setenv("SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("CARRIER_WEBHOOK_SECRET", "test-carrier-secret")
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    reset_caches()


DB_PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def demo_photo(label: str = "damaged") -> Path:
    """A real photo from the curated dataset."""
    import csv

    with (DATASET / "labels.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["label"] == label:
                return DATASET / row["file"]
    raise LookupError(label)


def missing_prerequisite(why: str) -> None:
    """Skip when a developer runs a slice of the suite without the Rasa venv, model or Chromium;
    fail under `make test` (which builds all of them), so a missing piece never hides a failure."""
    if os.environ.get("RETURNS_FULL_SUITE"):
        pytest.fail(f"{why} -- `make test` builds it, so this run must not skip it")
    pytest.skip(why)


RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def run_in_rasa_venv(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `script` with the Rasa venv's Python 3.10 (code that imports Rasa cannot run in the
    suite's 3.11), the repository importable; its output is returned, not checked."""
    if not RASA_PYTHON.exists():
        missing_prerequisite("the Rasa venv (.venv-rasa) is not set up: make setup")
    return subprocess.run(
        [str(RASA_PYTHON), "-c", script, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
