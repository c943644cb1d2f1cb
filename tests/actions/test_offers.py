"""Typed "yes"/"no" outside a form answer the bot's last offer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction

from actions.offers import ActionAnswerYesNo, ActionRouteInform
from tests.actions.helpers import FakeApi, responses, run_action, user_event


def after(offer: str | None, intent: str) -> Tracker:
    events: list[dict[str, Any]] = [user_event("hi", "greet"), {"event": "action", "name": "action_x"}]
    if offer:
        events.append({"event": "bot", "text": "...", "metadata": {"utter_action": offer}})
    events += [
        {"event": "action", "name": "action_listen"},
        user_event("yes" if intent == "affirm" else "no", intent),
    ]
    latest = {"intent": {"name": intent, "confidence": 0.99}, "entities": [], "text": "yes"}
    return Tracker("conv-offers", {}, latest, events, False, None, {}, "action_listen")


def test_yes_to_a_person_opens_a_ticket(fake_api: FakeApi) -> None:
    events, dispatcher = run_action(ActionAnswerYesNo(), after("utter_offer_handoff", "affirm"))
    assert events == []
    assert responses(dispatcher) == ["utter_handoff_created"]
    assert len(fake_api.handoffs) == 1


def test_yes_to_starting_a_return_starts_the_form(fake_api: FakeApi) -> None:
    events, dispatcher = run_action(ActionAnswerYesNo(), after("utter_no_returns_yet", "affirm"))
    assert events == [FollowupAction("return_form")]
    assert dispatcher.messages == []


def test_no_to_anything_else_says_goodbye(fake_api: FakeApi) -> None:
    _, dispatcher = run_action(ActionAnswerYesNo(), after("utter_anything_else", "deny"))
    assert responses(dispatcher) == ["utter_goodbye"]


def test_no_to_a_person_asks_what_else(fake_api: FakeApi) -> None:
    _, dispatcher = run_action(ActionAnswerYesNo(), after("utter_offer_handoff", "deny"))
    assert responses(dispatcher) == ["utter_anything_else"]
    assert fake_api.handoffs == []


def test_yes_out_of_the_blue(fake_api: FakeApi) -> None:
    _, dispatcher = run_action(ActionAnswerYesNo(), after(None, "affirm"))
    assert responses(dispatcher) == ["utter_how_can_i_help"]


def inform(entities: list[str]) -> Tracker:
    found = [{"entity": e, "value": "x"} for e in entities]
    latest = {
        "intent": {"name": "inform", "confidence": 0.9},
        "entities": found,
        "text": "my vase arrived broken",
    }
    return Tracker(
        "conv-inform",
        {},
        latest,
        [user_event("my vase arrived broken", "inform", found)],
        False,
        None,
        {},
        "action_listen",
    )


def test_a_reason_outside_a_flow_starts_the_return() -> None:
    events, dispatcher = run_action(ActionRouteInform(), inform(["item", "return_reason"]))
    assert events == [FollowupAction("return_form")]
    assert dispatcher.messages == []


def test_an_order_number_alone_asks_what_for() -> None:
    events, dispatcher = run_action(ActionRouteInform(), inform(["order_number"]))
    assert events == []
    assert responses(dispatcher) == ["utter_what_about_the_order"]


def test_an_empty_inform_offers_help() -> None:
    _, dispatcher = run_action(ActionRouteInform(), inform([]))
    assert responses(dispatcher) == ["utter_how_can_i_help"]
