"""`python -m api.migrate [upgrade|downgrade] [REV]`: run the Alembic migrations from code."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

INI = Path(__file__).with_name("alembic.ini")


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(INI))
    cfg.attributes["configure_logging"] = False
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    action = args[0] if args else "upgrade"
    if action == "upgrade":
        upgrade(revision=args[1] if len(args) > 1 else "head")
    elif action == "downgrade":
        downgrade(revision=args[1] if len(args) > 1 else "base")
    else:
        print(f"unknown action {action!r}: use upgrade or downgrade", file=sys.stderr)
        return 2
    print(f"database migrated ({action})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
