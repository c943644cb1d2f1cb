"""bot/credentials.yml and bot/credentials.production.yml: what Rasa will start with.

Rasa starts every channel listed, expands `${VAR}` (refusing to start when VAR is unset), and
the built-in Slack connector refuses to start without its signing secret. So the default file
lists only channels that start with no secrets; the production file adds Slack and Messenger.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.support import run_in_rasa_venv

DEFAULT = ROOT / "bot" / "credentials.yml"
PRODUCTION = ROOT / "bot" / "credentials.production.yml"
TELEGRAM = "bot.channels.telegram.TelegramInput"
TWILIO = "bot.channels.twilio_whatsapp.TwilioWhatsAppInput"
WEBCHAT = "bot.channels.webchat.SocketIOInput"
SECRET_KEYS = re.compile(r"token|secret|verify|password|sid", re.IGNORECASE)
ENV_REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*\}$")
PRODUCTION_ENV = {
    name: "set-for-the-test"
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_SECRET_TOKEN",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_WHATSAPP_NUMBER",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "FACEBOOK_VERIFY_TOKEN",
        "FACEBOOK_APP_SECRET",
        "FACEBOOK_PAGE_ACCESS_TOKEN",
    )
}


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def secret_values(config: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for channel, settings in config.items():
        for key, value in (settings or {}).items():
            if SECRET_KEYS.search(key) and value not in (None, ""):
                found.append((channel, key, str(value)))
    return found


def test_default_file_starts_without_secrets() -> None:
    config = load(DEFAULT)
    assert {"rest", WEBCHAT, TELEGRAM, TWILIO} <= set(config)
    assert "slack" not in config and "facebook" not in config
    for channel in (TELEGRAM, TWILIO):  # their secrets are read from the environment by the connector
        assert "${" not in str(config[channel] or {})
    assert secret_values(config) == []


def test_production_file_has_every_channel_and_only_env_secrets() -> None:
    config = load(PRODUCTION)
    assert {"rest", WEBCHAT, TELEGRAM, TWILIO, "slack", "facebook"} <= set(config)
    for channel, key, value in secret_values(config):
        assert ENV_REFERENCE.match(value), f"{channel}.{key} must be a ${{VARIABLE}}, not a literal"
    assert config["slack"]["slack_signing_secret"] == "${SLACK_SIGNING_SECRET}"


def test_production_keeps_the_default_widget_and_rest_settings() -> None:
    default, production = load(DEFAULT), load(PRODUCTION)
    for channel in default:
        if channel not in (TELEGRAM, TWILIO):
            assert production.get(channel) == default[channel], f"{channel} differs between the two files"


# One Rasa import for all cases (it takes ~20 s): build the channels as `rasa run` does.
CREATE_CHANNELS = """
import json, os, sys
from rasa.core.run import create_http_input_channels

results = {}
for case in json.loads(sys.argv[1]):
    for name in [k for k in os.environ if k.startswith(("TELEGRAM_", "TWILIO_", "SLACK_", "FACEBOOK_"))]:
        del os.environ[name]
    os.environ.update(case["env"])
    try:
        results[case["name"]] = sorted(c.name() for c in create_http_input_channels(None, case["file"]))
    except Exception as exc:
        results[case["name"]] = "error: " + type(exc).__name__ + ": " + str(exc)
print("RESULTS " + json.dumps(results))
"""


@pytest.fixture(scope="module")
def rasa_channels() -> dict[str, Any]:
    without_slack_secret = {k: v for k, v in PRODUCTION_ENV.items() if k != "SLACK_SIGNING_SECRET"}
    cases = [
        {"name": "default", "file": str(DEFAULT), "env": {}},
        {"name": "production", "file": str(PRODUCTION), "env": PRODUCTION_ENV},
        {"name": "production, a secret unset", "file": str(PRODUCTION), "env": without_slack_secret},
        {
            "name": "production, slack secret empty",
            "file": str(PRODUCTION),
            "env": {**PRODUCTION_ENV, "SLACK_SIGNING_SECRET": ""},
        },
    ]
    result = run_in_rasa_venv(CREATE_CHANNELS, json.dumps(cases))
    line = next((x for x in result.stdout.splitlines() if x.startswith("RESULTS ")), None)
    assert line, result.stderr[-3000:]
    return dict(json.loads(line[len("RESULTS ") :]))


def test_rasa_builds_the_default_channels_with_no_secret_set(rasa_channels: dict[str, Any]) -> None:
    built = rasa_channels["default"]
    assert isinstance(built, list), built  # an error message otherwise
    assert {"rest", "socketio", "telegram_returns", "twilio_whatsapp"} <= set(built)
    assert not {"slack", "facebook"} & set(built)


def test_rasa_builds_every_production_channel_once_the_secrets_are_set(rasa_channels: dict[str, Any]) -> None:
    built = rasa_channels["production"]
    assert isinstance(built, list), built
    assert {"facebook", "rest", "slack", "socketio", "telegram_returns", "twilio_whatsapp"} <= set(built)


def test_rasa_refuses_the_production_file_when_a_secret_is_unset_or_slacks_is_empty(
    rasa_channels: dict[str, Any],
) -> None:
    assert "SLACK_SIGNING_SECRET" in rasa_channels["production, a secret unset"]
    assert "signing secret" in rasa_channels["production, slack secret empty"]
