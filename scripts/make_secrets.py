"""Generate random secrets once into an env file outside git (var/secrets.env by default).

`make setup` runs it for the development stack; `scripts/prod_local.py` keeps its own file
(var/prod/secrets.env) with the production topology's extra secrets.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "var" / "secrets.env"

NAMES = ("SECRET_KEY", "SERVICE_TOKEN", "CARRIER_WEBHOOK_SECRET", "TELEGRAM_SECRET_TOKEN")


def ensure_secrets(target: Path = TARGET, names: Iterable[str] = NAMES) -> dict[str, str]:
    """Add a random value for every name the file lacks (mode 600); returns the file's values."""
    target.parent.mkdir(parents=True, exist_ok=True)
    existing = target.read_text() if target.exists() else ""
    have = {line.split("=", 1)[0] for line in existing.splitlines() if "=" in line}
    lines = [f"{name}={secrets.token_urlsafe(32)}" for name in names if name not in have]
    if lines:
        with target.open("a") as fh:
            fh.write("\n".join(lines) + "\n")
        target.chmod(0o600)
        shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
        print(f"generated {len(lines)} secret(s) in {shown}", file=sys.stderr)
    values: dict[str, str] = {}
    for line in target.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def main() -> None:
    ensure_secrets()


if __name__ == "__main__":
    main()
