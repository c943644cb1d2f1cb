"""bot/channels/turn_gate.py inside Rasa: loading our channels puts Rasa's turn behind the gate,
messages through Rasa's Agent (its per-conversation lock included) run at most
RASA_TURNS_IN_FLIGHT at once with photo turns first (plus RASA_PHOTO_TURN_SLOTS more for photo
turns only), 0 leaves Rasa as it is, and a bad value stops Rasa at start with the reason. The
scheduler's own rules are in tests/channels/test_turn_gate.py. Runs in the Rasa venv (Python 3.10)."""

from __future__ import annotations

import json
import os
from unittest import mock

from tests.support import run_in_rasa_venv

SCRIPT = r"""
import asyncio, json
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

state = {"running": 0, "most": 0, "started": []}

async def rasa_turn(self, message):  # stands in for Rasa's own turn (NLU, policies, actions)
    state["started"].append(message.sender_id)
    state["running"] += 1
    state["most"] = max(state["most"], state["running"])
    await asyncio.sleep(0.05)
    state["running"] -= 1
    return [{"recipient_id": message.sender_id, "text": "answer to " + message.text}]

MessageProcessor.handle_message = rasa_turn
import bot.channels.webchat  # loading our channel applies the gate
from bot.channels import turn_gate
turn_gate.apply()  # a second time changes nothing
gated = MessageProcessor.handle_message is not rasa_turn
wrapped_once = getattr(MessageProcessor.handle_message, "__wrapped__", None) is rasa_turn

agent = Agent()
agent.processor = MessageProcessor.__new__(MessageProcessor)

async def main():
    async def say(sender, text, delay):
        await asyncio.sleep(delay)
        return await agent.handle_message(UserMessage(text, sender_id=sender))
    answers = await asyncio.gather(
        say("a", "hi", 0), say("b", "i want to return my order", 0),
        say("c", "100232", 0.01), say("d", "raj@example.com", 0.01), say("e", "/affirm", 0.01),
        say("f", '/photo_uploaded{"photo_ids": ["p1"]}', 0.02),
        say("a", "and another thing", 0.02),  # waits for a's first turn (Rasa's lock), then queues
    )
    return answers

answers = asyncio.run(main())
print(json.dumps({"gated": gated, "wrapped_once": wrapped_once, "most": state["most"],
                  "started": state["started"], "answers": [a[0]["text"] for a in answers]}))
"""


def run(limit: str | None, photo_slots: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RASA_TURNS_IN_FLIGHT", "RASA_PHOTO_TURN_SLOTS")}
    if limit is not None:
        env["RASA_TURNS_IN_FLIGHT"] = limit
    if photo_slots is not None:
        env["RASA_PHOTO_TURN_SLOTS"] = photo_slots
    with mock.patch.dict(os.environ, env, clear=True):
        done = run_in_rasa_venv(SCRIPT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_our_channels_gates_rasas_turns_with_photo_turns_first() -> None:
    out = run("2", photo_slots="0")
    assert out["gated"] and out["wrapped_once"]
    assert out["most"] == 2
    # a and b run; f's photo turn arrived after c, d and e and runs before them; a's second
    # message waited for its first (Rasa's conversation lock), then for its place in the queue
    assert out["started"] == ["a", "b", "f", "c", "d", "e", "a"]
    assert out["answers"][0] == "answer to hi" and out["answers"][5].startswith("answer to /photo_uploaded")
    assert out["answers"][6] == "answer to and another thing"


def test_a_photo_slot_starts_the_photo_turn_while_text_turns_fill_the_limit() -> None:
    out = run("2", photo_slots="1")
    # f starts as it arrives, beside a and b; c, d and e still wait for a text slot
    assert out["started"] == ["a", "b", "f", "c", "d", "e", "a"]
    assert out["most"] == 3


def test_the_default_is_three_turns_in_flight_and_one_more_for_a_photo() -> None:
    out = run(None)
    assert out["gated"] and out["most"] == 4
    assert out["started"] == ["a", "b", "c", "f", "d", "e", "a"]


def test_zero_leaves_rasa_as_it_is() -> None:
    out = run("0")
    assert not out["gated"]
    assert out["most"] == 6  # every conversation at once; a's second message still waits for its lock
    assert out["started"][:6] == ["a", "b", "c", "d", "e", "f"]


def test_a_bad_limit_stops_rasa_at_start_with_the_reason() -> None:
    env = {**os.environ, "RASA_TURNS_IN_FLIGHT": "lots"}
    with mock.patch.dict(os.environ, env, clear=True):
        done = run_in_rasa_venv("import bot.channels.webchat")
    assert done.returncode != 0
    assert "RASA_TURNS_IN_FLIGHT must be a whole number of turns (0 = no limit), not 'lots'" in done.stderr


def test_a_bad_photo_slot_count_stops_rasa_at_start_with_the_reason() -> None:
    env = {**os.environ, "RASA_PHOTO_TURN_SLOTS": "-1"}
    with mock.patch.dict(os.environ, env, clear=True):
        done = run_in_rasa_venv("import bot.channels.webchat")
    assert done.returncode != 0
    assert "RASA_PHOTO_TURN_SLOTS must be 0 or more, not -1" in done.stderr
