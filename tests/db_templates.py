"""Fast, isolated databases for every test that needs one.

`database` gives a migrated, seeded database per test, parametrised `sqlite` / `postgres`; it
migrates and seeds once per session and then restores that state for each test: a copy of
the SQLite file, or DELETE + re-insert of the seeded rows on PostgreSQL. Migrating from empty
is tested on its own in tests/api/test_migrations.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, Integer, create_engine, inspect, select, text

from tests.support import DB_PARAMS, _reset_postgres, configure

MERCHANT_PASSWORD = "test-merchant-password-123"


def pg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Argon2 with its production cost takes ~0.3 s a hash on these machines; tests use a cheap one.

    Still argon2id (test_auth checks the hash format); only the cost parameters differ.
    """
    import api.security

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(api.security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


def _migrate_and_seed() -> None:
    from api.db import session_scope
    from api.migrate import upgrade
    from api.models import MerchantUser
    from api.security import hash_password
    from api.seed import ADMIN_EMAIL, seed

    upgrade()
    seed()
    with session_scope() as session:
        user = session.scalar(select(MerchantUser).where(MerchantUser.email == ADMIN_EMAIL))
        assert user is not None
        user.password_hash = hash_password(MERCHANT_PASSWORD)


class Templates:
    """The migrated and seeded state, built once per session per backend."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sqlite_dir: Path | None = None
        self.pg_rows: dict[str, list[dict[str, Any]]] | None = None
        self.pg_engine: Engine | None = None

    def close(self) -> None:
        if self.pg_engine is not None:
            self.pg_engine.dispose()

    def _build(self, var_dir: Path, url: str) -> None:
        from api.db import reset_caches
        from api.settings import get_settings

        with pytest.MonkeyPatch.context() as mp:
            configure(mp, var_dir, url)
            _migrate_and_seed()
            reset_caches()
        get_settings.cache_clear()

    # --- SQLite: copy the template file -------------------------------------------------------

    def restore_sqlite(self, var_dir: Path) -> None:
        if self.sqlite_dir is None:
            template = self.root / "sqlite" / "var"
            template.mkdir(parents=True)
            self._build(template, "")
            self.sqlite_dir = template
        var_dir.mkdir(parents=True, exist_ok=True)
        for path in self.sqlite_dir.glob("returns.db*"):
            shutil.copyfile(path, var_dir / path.name)

    # --- PostgreSQL: empty every table, insert the seeded rows again ----------------------

    def restore_postgres(self, url: str) -> None:
        import api.models  # noqa: F401  (every table registered on Base.metadata)
        from api.db import Base

        if self.pg_engine is None:
            self.pg_engine = create_engine(pg_url(url), pool_size=1)
        engine = self.pg_engine
        tables = Base.metadata.sorted_tables
        if self.pg_rows is None or not self._schema_present(engine):
            # First use, or a migration test dropped the schema: build it from empty.
            _reset_postgres(url)
            self._build(self.root / "pg" / "var", url)
            with engine.connect() as conn:
                self.pg_rows = {t.name: [dict(r) for r in conn.execute(select(t)).mappings()] for t in tables}
            return
        with engine.begin() as conn:
            # DELETE, not TRUNCATE: on a few dozen rows it is ~50x faster in PostgreSQL.
            for table in reversed(tables):
                conn.execute(table.delete())
            for table in tables:
                if self.pg_rows[table.name]:
                    conn.execute(table.insert(), self.pg_rows[table.name])
                if "id" in table.c and isinstance(table.c.id.type, Integer):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f'COALESCE((SELECT max(id) FROM "{table.name}"), 0) + 1, false)'
                        )
                    )

    @staticmethod
    def _schema_present(engine: Engine) -> bool:
        import api.models  # noqa: F401
        from api.db import Base

        present = set(inspect(engine).get_table_names())
        return "alembic_version" in present and set(Base.metadata.tables) <= present


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture(params=DB_PARAMS)
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _templates: Templates
) -> Iterator[str]:
    """A migrated, seeded database (same contract as tests/conftest.py); yields the backend name."""
    from api.db import reset_caches
    from api.settings import get_settings

    var_dir = tmp_path / "var"
    url = ""
    if request.param == "postgres":
        url = os.environ.get("TEST_DATABASE_URL", "")
        if not url:
            pytest.skip("TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
        _templates.restore_postgres(url)
        var_dir.mkdir(parents=True, exist_ok=True)
    else:
        _templates.restore_sqlite(var_dir)
    configure(monkeypatch, var_dir, url)
    yield request.param
    reset_caches()
    get_settings.cache_clear()


@pytest.fixture
def var_dir(database: str) -> Path:
    from api.settings import get_settings

    return get_settings().var_dir


@pytest.fixture
def merchant_token(client: Any) -> str:
    from api.seed import ADMIN_EMAIL

    r = client.post("/api/v1/auth/token", data={"username": ADMIN_EMAIL, "password": MERCHANT_PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture
def merchant_headers(merchant_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {merchant_token}"}
