"""The split domain against its contract and against the actions that use it (no Rasa needed)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Action

import actions
from tests.actions.helpers import load_domain

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_INTENTS = {
    "greet",
    "goodbye",
    "affirm",
    "deny",
    "thank",
    "bot_challenge",
    "start_return",
    "exchange_request",
    "order_status",
    "return_status",
    "refund_status",
    "return_policy",
    "cancel_return",
    "reschedule_pickup",
    "human_handoff",
    "inform",
    "out_of_scope",
}
CONTRACT_ENTITIES = {"order_number", "email", "postcode", "return_reason", "item"}
# f-string response names in the actions, with every value they take
DYNAMIC_RESPONSES = {
    "utter_decision_{outcome}": ["approve", "review", "reject"],
    "utter_next_steps_{resolution}": ["refund", "exchange", "store_credit"],
    "utter_{topic}_status": ["return", "refund"],
}


@pytest.fixture(scope="module")
def domain() -> dict:
    return load_domain()


def implemented_actions() -> dict[str, type[Action]]:
    found: dict[str, type[Action]] = {}
    for info in pkgutil.iter_modules(actions.__path__):
        module = importlib.import_module(f"actions.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Action) and cls.__module__ == module.__name__:
                found[cls().name()] = cls
    return found


def test_intents_are_the_contract_plus_photo_uploaded(domain: dict) -> None:
    # plus the backend's proactive notices (bot/domain/notices.yml), never typed by a shopper
    notices = {"EXTERNAL_return_update", "EXTERNAL_review_decision"}
    assert set(domain["intents"]) == CONTRACT_INTENTS | {"photo_uploaded"} | notices
    assert len(domain["intents"]) == len(set(domain["intents"]))


def test_entities(domain: dict) -> None:
    # `choice` is only ever sent by buttons; photo_ids by the widget's photo message
    notices = {"rma", "return_event", "return_message", "review_event", "review_message"}
    assert set(domain["entities"]) == CONTRACT_ENTITIES | {"photo_ids", "choice"} | notices


def test_every_custom_action_is_implemented(domain: dict) -> None:
    implemented = implemented_actions()
    assert set(domain["actions"]) <= set(implemented), set(domain["actions"]) - set(implemented)
    assert set(implemented) <= set(domain["actions"]), set(implemented) - set(domain["actions"])


def test_every_response_the_actions_send_exists(domain: dict) -> None:
    names: set[str] = set()
    for path in (ROOT / "actions").glob("*.py"):
        source = path.read_text()
        names |= set(re.findall(r'response="(utter_[a-z_]+)"', source))
        for pattern in re.findall(r'response=f"(utter_[a-z_{}]+)"', source):
            assert pattern in DYNAMIC_RESPONSES, f"{path.name}: list the values of {pattern}"
            field = re.search(r"\{(\w+)\}", pattern).group(1)  # type: ignore[union-attr]
            names |= {pattern.replace("{" + field + "}", value) for value in DYNAMIC_RESPONSES[pattern]}
    missing = names - set(domain["responses"])
    assert not missing, missing


def test_every_form_slot_can_be_asked(domain: dict) -> None:
    asks = set(domain["responses"]) | set(domain["actions"])
    for form, spec in domain["forms"].items():
        for slot in spec["required_slots"]:
            candidates = {
                f"utter_ask_{slot}",
                f"action_ask_{slot}",
                f"utter_ask_{form}_{slot}",
                f"action_ask_{form}_{slot}",
            }
            assert candidates & asks, f"{form} cannot ask {slot}"
            assert slot in domain["slots"], slot


def test_form_validators_exist(domain: dict) -> None:
    implemented = implemented_actions()
    for form in domain["forms"]:
        assert f"validate_{form}" in implemented


def test_slots_are_prefixed_by_feature(domain: dict) -> None:
    prefixes = ("verify_", "return_", "pickup_", "reschedule_", "cancel_", "status_", "form_")
    assert all(name.startswith(prefixes) for name in domain["slots"]), [
        n for n in domain["slots"] if not n.startswith(prefixes)
    ]


def test_the_asked_slot_marker_is_one_name_on_both_sides(domain: dict) -> None:
    # actions/common.py sets it, bot/channels/speedups.py (the Rasa venv) reads it: a rename on
    # one side only would silently bring back the second ask call, or drop the event
    from actions.common import ASKED_SLOT

    speedups = (ROOT / "bot" / "channels" / "speedups.py").read_text()
    assert re.search(rf'^ASKED_SLOT = "{ASKED_SLOT}"', speedups, re.M)
    slot = domain["slots"][ASKED_SLOT]
    assert slot["influence_conversation"] is False and slot["mappings"] == [{"type": "custom"}]


def test_buttons_use_declared_intents_and_entities(domain: dict) -> None:
    for name, variants in domain["responses"].items():
        for variant in variants:
            for button in variant.get("buttons", []):
                match = re.fullmatch(r"/(\w+)(\{.*\})?", button["payload"])
                assert match, (name, button)
                assert match.group(1) in domain["intents"], (name, button)


def test_endpoints_and_credentials() -> None:
    endpoints = (ROOT / "bot" / "endpoints.yml").read_text()
    for variable in ("ACTION_SERVER_URL", "RASA_TRACKER_DB_URL", "RASA_LOCK_STORE", "RASA_LOCK_STORE_URL"):
        assert "${" + variable + "}" in endpoints
        assert re.search(rf"^#\s+{variable}\b", endpoints, re.M), f"{variable} is not documented"
    config = yaml.safe_load(endpoints)
    # Rasa's SQL store behind the cache of bot/tracker_store.py (tests/bot/test_tracker_store.py)
    assert config["tracker_store"]["type"] == "bot.tracker_store.CachedSQLTrackerStore"
    assert "class CachedSQLTrackerStore(SQLTrackerStore)" in (ROOT / "bot" / "tracker_store.py").read_text()
    assert config["tracker_store"]["dialect"] == "sqlite"
    assert config["tracker_store"]["db"] == "var/rasa-tracker.db"
    credentials = yaml.safe_load((ROOT / "bot" / "credentials.yml").read_text())
    assert "rest" in credentials
    # the widget channel: Rasa's socketio with its session bug fixed (bot/channels/webchat.py)
    assert "socketio" not in credentials
    assert credentials["bot.channels.webchat.SocketIOInput"] == {
        "user_message_evt": "user_uttered",
        "bot_message_evt": "bot_uttered",
        "session_persistence": True,
    }


def test_importing_the_actions_does_no_work() -> None:
    """No client, engine or model at import time (the action server imports every module)."""
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, sys, actions\n"
        "for m in pkgutil.iter_modules(actions.__path__): importlib.import_module('actions.' + m.name)\n"
        "from actions import backend\n"
        "assert backend._transport is None\n"
        "loaded = [m for m in ('torch', 'vision.assess', 'transformers', 'sqlalchemy') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


@pytest.mark.parametrize(
    "path", sorted([*(ROOT / "bot" / "data").glob("*.yml"), *(ROOT / "tests" / "bot").glob("*.yml")]), ids=str
)
def test_dialogue_files_are_valid_yaml(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert data["version"] == "3.1"
    assert data.get("rules") or data.get("stories")
