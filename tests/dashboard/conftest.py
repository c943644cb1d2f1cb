"""Fixtures for the dashboard tests: two shops on one installation, users with known passwords,
flagged returns made through the API, and signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard import helpers


@pytest.fixture(autouse=True)
def _var_dir(tmp_path: Path) -> None:
    # The shared `database` fixture migrates a SQLite file under tmp_path/var before anything
    # has created that folder; make it first (autouse fixtures run before requested ones).
    (tmp_path / "var").mkdir(exist_ok=True)


@pytest.fixture(autouse=True)
def _no_rasa(monkeypatch: pytest.MonkeyPatch) -> None:
    """No chat server in unit tests: a port nothing listens on (pages must say so, not fail)."""
    from api.settings import get_settings

    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()


@pytest.fixture
def shops(database: str) -> dict[str, Any]:
    """Acme (seeded) with an admin and a reviewer; Globex with its own admin and an order."""
    globex = helpers.make_second_merchant()
    return {
        "acme_admin": helpers.make_user("acme", "boss@acme.example", "admin"),
        "acme_reviewer": helpers.make_user("acme", "rev@acme.example", "reviewer"),
        "globex_admin": helpers.make_user("globex", "boss@globex.example", "admin"),
        "globex": globex,
    }


@pytest.fixture
def flagged(client: Any, shops: dict[str, Any]) -> dict[str, Any]:
    """A flagged (under review) return of Acme: order 100234, headphones, 2 photos with heatmaps."""
    return helpers.create_return(client)


@pytest.fixture
def reviewer(client: Any, shops: dict[str, Any]) -> Iterator[str]:
    """The client signed in as Acme's reviewer; yields the session's CSRF token."""
    yield helpers.login(client, "rev@acme.example")


@pytest.fixture
def admin(client: Any, shops: dict[str, Any]) -> Iterator[str]:
    yield helpers.login(client, "boss@acme.example")
