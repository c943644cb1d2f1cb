"""Generate var/secrets.env once: random secrets for this installation, never committed."""

from __future__ import annotations

import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "var" / "secrets.env"

NAMES = ("SECRET_KEY", "SERVICE_TOKEN", "CARRIER_WEBHOOK_SECRET", "TELEGRAM_SECRET_TOKEN")


def main() -> None:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    existing = TARGET.read_text() if TARGET.exists() else ""
    have = {line.split("=", 1)[0] for line in existing.splitlines() if "=" in line}
    lines = [f"{name}={secrets.token_urlsafe(32)}" for name in NAMES if name not in have]
    if lines:
        with TARGET.open("a") as fh:
            fh.write("\n".join(lines) + "\n")
        TARGET.chmod(0o600)
        print(f"generated {len(lines)} secret(s) in {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
