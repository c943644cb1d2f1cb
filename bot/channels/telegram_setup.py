"""Point a Telegram bot at this Rasa: `setWebhook` with the secret token the connector checks.

    python -m bot.channels.telegram_setup https://returns.example.com   # register the webhook
    python -m bot.channels.telegram_setup --info                        # what Telegram has now
    python -m bot.channels.telegram_setup --delete                      # stop the webhook

Reads TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET_TOKEN and TELEGRAM_API_BASE from the environment,
falling back to var/secrets.env (where `make run` generates TELEGRAM_SECRET_TOKEN). The secret
is sent to Telegram only, never printed. Standard library only: runs with either venv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_PATH = "/webhooks/telegram_returns/webhook"


def _env(name: str, default: str = "") -> str:
    if os.environ.get(name):
        return os.environ[name]
    secrets = ROOT / "var" / "secrets.env"
    if secrets.exists():
        for line in secrets.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == name and value.strip():
                return value.strip()
    return default


def call(method: str, payload: dict[str, Any]) -> Any:
    token = _env("TELEGRAM_BOT_TOKEN")
    if not token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set (the token @BotFather gave you).")
    base = _env("TELEGRAM_API_BASE", "https://api.telegram.org").rstrip("/")
    request = urllib.request.Request(
        f"{base}/bot{token}/{method}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read() or b"{}")
    if not answer.get("ok"):
        raise SystemExit(f"Telegram refused {method}: {answer.get('description', answer)}")
    return answer.get("result")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "public_url", nargs="?", help="the public https:// base URL of Rasa (the webhook path is added)"
    )
    parser.add_argument("--info", action="store_true", help="show the webhook Telegram has now")
    parser.add_argument("--delete", action="store_true", help="remove the webhook")
    parser.add_argument("--drop-pending", action="store_true", help="discard updates waiting at Telegram")
    args = parser.parse_args(argv)
    if args.info:
        info = call("getWebhookInfo", {})
        print(json.dumps(info, indent=2))
        return 0
    if args.delete:
        call("deleteWebhook", {"drop_pending_updates": args.drop_pending})
        print("webhook removed")
        return 0
    if not args.public_url:
        parser.error("give the public URL, or --info / --delete")
    secret = _env("TELEGRAM_SECRET_TOKEN")
    if not secret:
        raise SystemExit("TELEGRAM_SECRET_TOKEN is not set (make run generates one in var/secrets.env).")
    url = args.public_url.rstrip("/")
    if not url.endswith(WEBHOOK_PATH):
        url += WEBHOOK_PATH
    call(
        "setWebhook",
        {
            "url": url,
            "secret_token": secret,
            "allowed_updates": ["message", "callback_query"],
            "drop_pending_updates": args.drop_pending,
        },
    )
    print(f"Telegram now sends this bot's updates to {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
