"""Alembic migrations from an empty database up to head and back down to base; the seed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from tests.conftest import DB_PARAMS, _reset_postgres, configure


@pytest.fixture(params=DB_PARAMS)
def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Settings pointing at an empty database (no tables at all)."""
    from api.db import reset_caches
    from api.settings import get_settings

    url = ""
    if request.param == "postgres":
        url = os.environ.get("TEST_DATABASE_URL", "")
        if not url:
            pytest.skip("TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
        _reset_postgres(url)
    (tmp_path / "var").mkdir(exist_ok=True)
    configure(monkeypatch, tmp_path / "var", url)
    yield request.param
    reset_caches()
    get_settings.cache_clear()


def table_names() -> set[str]:
    from api.db import get_engine

    engine = get_engine()
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_upgrade_from_empty_then_down_to_base_and_up_again(
    empty_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from api.db import Base, get_engine
    from api.migrate import alembic_config, downgrade, main, upgrade

    assert table_names() == set()
    assert main(["upgrade"]) == 0  # `python -m api.migrate upgrade`
    assert "database migrated (upgrade)" in capsys.readouterr().out
    assert table_names() == set(Base.metadata.tables) | {"alembic_version"}
    with get_engine().connect() as conn:
        # The migrations build exactly what the models declare (no forgotten migration).
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff

    # every revision steps down on its own ...
    revisions = list(ScriptDirectory.from_config(alembic_config()).walk_revisions())
    for _ in revisions:
        downgrade(revision="-1")
    assert table_names() <= {"alembic_version"}
    # ... and up again
    for _ in revisions:
        upgrade(revision="+1")
    assert table_names() == set(Base.metadata.tables) | {"alembic_version"}

    assert main(["downgrade"]) == 0  # `python -m api.migrate downgrade`: to base in one go
    assert table_names() <= {"alembic_version"}
    upgrade()
    assert set(Base.metadata.tables) <= table_names()


def test_migrate_command_rejects_unknown_actions(capsys: pytest.CaptureFixture[str]) -> None:
    from api.migrate import main

    assert main(["sideways"]) == 2
    assert "unknown action" in capsys.readouterr().err


def test_seed_from_empty_is_idempotent(empty_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    from api.db import session_scope
    from api.migrate import upgrade
    from api.models import Customer, Merchant, MerchantUser, Order, OrderItem, Product, ProductVariant
    from api.security import verify_password
    from api.seed import ADMIN_EMAIL, main, seed
    from api.settings import get_settings

    upgrade()
    assert main() == 0  # `python -m api.seed` on an empty database
    out = capsys.readouterr().out
    assert "7 orders created" in out and ADMIN_EMAIL in out
    login_file = get_settings().var_dir / "demo-login.txt"
    email, password = login_file.read_text().splitlines()
    assert email == ADMIN_EMAIL and password in out and len(password) >= 12
    assert login_file.stat().st_mode & 0o077 == 0  # only the owner may read it

    def counts() -> list[int]:
        with session_scope() as session:
            return [
                int(session.scalar(select(func.count()).select_from(m)) or 0)
                for m in (Merchant, MerchantUser, Customer, Product, ProductVariant, Order, OrderItem)
            ]

    first = counts()
    assert first[:2] == [1, 1] and first[5:] == [7, 8]
    assert seed() == (0, None)  # a second run creates nothing and keeps the password
    assert main() == 0
    again = capsys.readouterr().out
    assert "0 orders created (7 already there)" in again and "login created" not in again
    assert counts() == first

    with session_scope() as session:
        user = session.scalar(select(MerchantUser).where(MerchantUser.email == ADMIN_EMAIL))
        assert user is not None and user.role == "admin"
        assert verify_password(user.password_hash, password)
        merchant = session.scalar(select(Merchant))
        assert merchant is not None and merchant.name == "Acme Outfitters"
        orders = {o.number: o for o in session.scalars(select(Order))}
        now = datetime.now(UTC)
        delivered_days = {
            n: (now - o.delivered_at).days if o.delivered_at else None for n, o in orders.items()
        }
        assert delivered_days == {
            "100231": 5,
            "100232": 2,
            "100233": 45,
            "100234": 3,
            "100235": 4,
            "100236": None,
            "100237": 2,
        }
        assert orders["100236"].status == "shipped"
        assert all(o.status == "delivered" for n, o in orders.items() if n != "100236")
