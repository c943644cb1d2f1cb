"""actions/common.py `AsksNextSlot`: a form's validation asks the next question in the same call
only when Rasa's form would certainly ask it next, and never leaves half a question behind."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import ActionExecutionRejected, SlotSet

from actions.common import ask_action
from actions.returns import ActionAskReturnItems, ValidateReturnForm
from tests.actions.helpers import FakeApi, load_domain, make_tracker, responses, run_action, slot_sets


def proof_turn(*, active: bool) -> Any:
    return make_tracker(
        {"requested_slot": "verify_proof", "verify_order_number": "100231"},
        text="jane@example.com",
        candidates={"verify_proof": "jane@example.com"},
        active_loop="return_form" if active else None,
    )


def test_the_item_question_comes_with_the_proof_check(fake_api: FakeApi) -> None:
    events, dispatcher = run_action(ValidateReturnForm(), proof_turn(active=True))
    assert responses(dispatcher) == ["utter_verified", "utter_ask_return_items"]
    assert dispatcher.messages[1]["buttons"][0]["title"] == "Running shoes ($120.00)"
    assert events[-2:] == [
        SlotSet("requested_slot", "return_items"),
        SlotSet("form_asked_slot", "return_items"),
    ]


def test_not_while_the_form_is_being_activated(fake_api: FakeApi) -> None:
    # Rasa calls the validation twice when it activates a form: the question is left to Rasa
    events, dispatcher = run_action(ValidateReturnForm(), proof_turn(active=False))
    assert responses(dispatcher) == ["utter_verified"]
    assert "form_asked_slot" not in slot_sets(events)


def test_not_when_the_message_rejected_the_form(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {"requested_slot": "return_reason", "verify_order_number": "100231", "return_items": ["1"]},
        text="stop",
        intent="deny",
        candidates={"return_reason": "stop"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert events[-1] == ActionExecutionRejected("return_form")
    assert "form_asked_slot" not in slot_sets(events)
    assert "utter_ask_return_reason" not in responses(dispatcher)


def test_a_question_that_is_a_response_is_left_to_rasa(fake_api: FakeApi) -> None:
    tracker = make_tracker(
        {"requested_slot": "verify_order_number"},
        text="100231",
        candidates={"verify_order_number": "100231"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker)
    assert slot_sets(events) == {"verify_order_number": "100231", "requested_slot": "verify_proof"}
    assert dispatcher.messages == []  # utter_ask_verify_proof: Rasa renders it, no call here
    assert ask_action(load_domain(), "return_form", "verify_proof") is None
    assert isinstance(ask_action(load_domain(), "return_form", "return_items"), ActionAskReturnItems)


def test_a_failing_question_is_dropped_whole_and_left_to_rasa(
    fake_api: FakeApi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def half_then_fail(self: Any, dispatcher: Any, tracker: Any, domain: Any) -> list[Any]:
        dispatcher.utter_message(response="utter_ask_return_items")
        raise RuntimeError("boom")

    monkeypatch.setattr(ActionAskReturnItems, "run", half_then_fail)
    events, dispatcher = run_action(ValidateReturnForm(), proof_turn(active=True))
    assert responses(dispatcher) == ["utter_verified"]  # no half question
    assert slot_sets(events)["requested_slot"] == "return_items"
    assert "form_asked_slot" not in slot_sets(events)  # so Rasa asks, as before
    assert "Rasa will ask" in caplog.text
